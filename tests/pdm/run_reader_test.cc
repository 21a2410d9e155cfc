#include "pdm/run_reader.h"

#include <gtest/gtest.h>

#include "pdm/run_dataset.h"
#include "synthetic_fleet.h"

namespace officina::pdm {
namespace {

// The error message of a failed parse ("" when it succeeded).
template <class T>
std::string error_of(const Result<T>& r) {
  return r ? "" : r.error().message;
}

TEST(CmapssReader, ReadsNasaStyleRowsWithTrailingSpacesAndCrlf) {
  std::string text =
      "1 1 -0.0007 -0.0004 100.0 518.67 641.82 \r\n"
      "1 2 0.0019 -0.0003 100.0 518.67 642.15 \r\n"
      "\n"
      "2 1\t0.0 0.0 100.0 518.67 643.0\n"
      "2 3 0.0 0.0 100.0 518.67 643.5";  // no final newline, a cycle gap
  auto d = parse_cmapss(text, "train_FD001.txt");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->units.size(), 2u);
  EXPECT_EQ(d->sensor_names, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(d->setting_count(), 3u);
  EXPECT_EQ(d->units[0].cycles, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(d->units[1].cycles, (std::vector<int64_t>{1, 3}));
  EXPECT_DOUBLE_EQ(d->units[0].settings[1], -0.0004);
  EXPECT_DOUBLE_EQ(d->units[1].sensors[3], 643.5);
}

TEST(CmapssReader, OneCycleUnitIsValid) {
  auto d = parse_cmapss("7 1 0 0 100 1 2\n", "test.txt");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->units[0].length(), 1u);
  EXPECT_EQ(d->units[0].id, 7);
}

TEST(CmapssReader, BadInputNamesFileAndLine) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"1 1 0 0 100 1 2\n1 2 0 0 100 1\n", "f.txt:2: 6 columns, expected 7 as on line 1 (a ragged row)"},
      {"1 1 0 0 100 1 2\n1 2 0 0 100 nan 2\n", "f.txt:2: column 6: 'nan' is not a finite number"},
      {"1 1 0 0 100 1 inf\n", "f.txt:1: column 7: 'inf' is not a finite number"},
      {"1 1 0 0 100 1 -INF\n", "f.txt:1: column 7: '-INF' is not a finite number"},
      {"1 1 0 0 1\n", "f.txt:1: 5 columns; the C-MAPSS layout needs unit, cycle, 3 settings and at least one sensor"},
      {"1 2 0 0 100 1\n1 2 0 0 100 1\n", "f.txt:2: unit 1: cycle 2 after cycle 2; cycles must increase"},
      {"1 5 0 0 100 1\n1 3 0 0 100 1\n", "f.txt:2: unit 1: cycle 3 after cycle 5; cycles must increase"},
      {"1 1 0 0 100 1\n2 1 0 0 100 1\n1 2 0 0 100 1\n", "f.txt:3: unit 1 appears again after unit 2"},
      {"1.5 1 0 0 100 1\n", "f.txt:1: column 1 (unit): '1.5' is not an integer"},
      {"1 x 0 0 100 1\n", "f.txt:1: column 2 (cycle): 'x' is not a number"},
      {"1 1 0 0 100 1e999\n", "f.txt:1: column 6: '1e999' is out of range"},
      {"", "f.txt: no data rows (an empty file?)"},
      {"  \n\r\n", "f.txt: no data rows (an empty file?)"},
  };
  for (const Case& c : cases) {
    auto d = parse_cmapss(c.text, "f.txt");
    EXPECT_NE(error_of(d).find(c.expected), std::string::npos) << "input: " << c.text << "\ngot: " << error_of(d);
  }
}

TEST(CsvReader, DefaultMappingAndExplicitMapping) {
  std::string text = "unit,cycle,setting1,setting2,vib,temp\n1,1,0,0.5,1.1,180\n1,2,1,0.5,1.2,181\n2,1,0,0.4,1.0,179\n";
  auto d = parse_csv_runs(text, "runs.csv", {});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->setting_names, (std::vector<std::string>{"setting1", "setting2"}));
  EXPECT_EQ(d->sensor_names, (std::vector<std::string>{"vib", "temp"}));
  EXPECT_EQ(d->units.size(), 2u);

  std::string other = "\"engine\",time,alt,t24,p30\n3,1,10,642.1,1580\n3,2,10,642.4,1581\n";
  auto m = parse_column_mapping("unit=engine,cycle=time,settings=alt,sensors=p30");
  ASSERT_TRUE(m) << m.error().message;
  auto e = parse_csv_runs(other, "e.csv", *m);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->sensor_names, (std::vector<std::string>{"p30"}));
  EXPECT_EQ(e->setting_names, (std::vector<std::string>{"alt"}));
  EXPECT_DOUBLE_EQ(e->units[0].sensors[1], 1581);
}

TEST(CsvReader, BadInput) {
  EXPECT_NE(error_of(parse_csv_runs("unit,cycle,a\n1,1,2\n1,2\n", "r.csv", {})).find("r.csv:3: 2 columns, the header has 3"),
            std::string::npos);
  EXPECT_NE(error_of(parse_csv_runs("unit,cycle,a\n1,1,NaN\n", "r.csv", {})).find("r.csv:2: column 'a': 'NaN' is not a finite"),
            std::string::npos);
  EXPECT_NE(error_of(parse_csv_runs("id,cycle,a\n1,1,2\n", "r.csv", {})).find("r.csv:1: no column 'unit'"), std::string::npos);
  EXPECT_NE(error_of(parse_csv_runs("unit,cycle\n1,1\n", "r.csv", {})).find("no sensor columns"), std::string::npos);
  EXPECT_NE(error_of(parse_csv_runs("unit,cycle,a,a\n", "r.csv", {})).find("column 'a' appears twice"), std::string::npos);
  EXPECT_NE(error_of(parse_csv_runs("unit,cycle,a\n", "r.csv", {})).find("a header but no data rows"), std::string::npos);
  EXPECT_NE(error_of(parse_csv_runs("", "r.csv", {})).find("empty file"), std::string::npos);
  EXPECT_NE(error_of(parse_column_mapping("unit")).find("is not KEY=VALUE"), std::string::npos);
  EXPECT_NE(error_of(parse_column_mapping("colour=red")).find("unknown key 'colour'"), std::string::npos);
  EXPECT_NE(error_of(parse_column_mapping("unit=a;b")).find("exactly one column"), std::string::npos);
  EXPECT_FALSE(parse_data_format("parquet"));
}

TEST(RulFile, ParsesAndRejects) {
  auto r = parse_rul("112 \r\n98\n\n69\n", "RUL.txt");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<double>{112, 98, 69}));
  EXPECT_NE(error_of(parse_rul("1\n-3\n", "RUL.txt")).find("RUL.txt:2: RUL -3 is negative"), std::string::npos);
  EXPECT_NE(error_of(parse_rul("1 2\n", "RUL.txt")).find("RUL.txt:1: '1 2' is not a number"), std::string::npos);
  EXPECT_NE(error_of(parse_rul("\n", "RUL.txt")).find("no RUL values"), std::string::npos);
}

TEST(CmapssWriter, RoundTripsExactly) {
  test::FleetOptions o;
  o.units = 4;
  o.regimes = 6;
  RunDataset d = test::make_fleet(o);
  auto back = parse_cmapss(format_cmapss(d), "round-trip");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->units.size(), d.units.size());
  for (size_t u = 0; u < d.units.size(); ++u) {
    EXPECT_EQ(back->units[u].cycles, d.units[u].cycles);
    EXPECT_EQ(back->units[u].settings, d.units[u].settings);
    EXPECT_EQ(back->units[u].sensors, d.units[u].sensors);
  }
  EXPECT_TRUE(validate_dataset(*back));
}

}  // namespace
}  // namespace officina::pdm
