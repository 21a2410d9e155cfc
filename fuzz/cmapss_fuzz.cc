// Fuzzes the run-to-failure readers (C-MAPSS text, CSV with the default
// column mapping, RUL files): any input must give a dataset or an Error,
// never a crash, hang or sanitizer report. A small dataset that parses also
// goes through preprocessing (regimes, sensor selection, normalisation),
// where odd but finite values (1e308, long constant runs) must not break the
// arithmetic's assumptions either.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pdm/preprocessor.h"
#include "pdm/run_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace pdm = officina::pdm;
  (void)pdm::parse_rul(text, "fuzz-rul.txt");
  (void)pdm::parse_csv_runs(text, "fuzz.csv", {});
  auto runs = pdm::parse_cmapss(text, "fuzz.txt");
  if (!runs || runs->total_cycles() > 2000) return 0;
  auto pre = pdm::Preprocessor::fit(*runs, {});
  if (!pre) return 0;
  for (const pdm::Unit& u : runs->units) (void)pre->smooth(pre->transform(*runs, u));
  return 0;
}
