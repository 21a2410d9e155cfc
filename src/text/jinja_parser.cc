#include "text/jinja_parser.h"

#include <charconv>
#include <cstdlib>
#include <set>

namespace officina::jinja {
namespace {

constexpr int kMaxDepth = 128;

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view name) : tokens_(std::move(tokens)), name_(name) {}

  Result<Template> run() {
    Template tmpl;
    tmpl.name = std::string(name_);
    std::string end_tag;
    OFFICINA_TRY(tmpl.body, parse_body({}, end_tag, "template"));
    return tmpl;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return tokens_[pos_]; }
  const Token& peek(size_t ahead = 1) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool is_op(std::string_view op) const { return cur().kind == TokenKind::Operator && cur().text == op; }
  bool is_name(std::string_view n) const { return cur().kind == TokenKind::Name && cur().text == n; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    advance();
    return true;
  }

  std::unexpected<Error> error(std::string_view message, const Token& at) const {
    return fail("{}:{}:{}: {}", name_, at.line, at.column, message);
  }
  std::unexpected<Error> error(std::string_view message) const { return error(message, cur()); }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::End: return "end of template";
      case TokenKind::BlockEnd: return "end of statement block";
      case TokenKind::VariableEnd: return "end of print statement";
      case TokenKind::String: return "string";
      case TokenKind::Text: return "template text";
      default: return "'" + t.text + "'";
    }
  }
  Result<void> expect_op(std::string_view op) {
    if (!skip_op(op)) return error(fmt::format("expected '{}', found {}", op, describe(cur())));
    return {};
  }
  Result<std::string> expect_name() {
    if (cur().kind != TokenKind::Name) return error(fmt::format("expected a name, found {}", describe(cur())));
    std::string n = cur().text;
    advance();
    return n;
  }
  Result<void> expect_block_end() {
    if (cur().kind != TokenKind::BlockEnd)
      return error(fmt::format("expected end of statement block, found {}", describe(cur())));
    advance();
    return {};
  }

  ExprPtr make(ExprKind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }

  // ---- statements ----
  Result<Body> parse_body(const std::set<std::string>& end_tags, std::string& found_end, std::string_view opened,
                          int opened_line = 0) {
    if (++depth_ > kMaxDepth) return error("blocks nested deeper than 128 levels");
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.kind == TokenKind::End) {
        if (end_tags.empty()) break;
        std::string wanted;
        for (const auto& tag : end_tags) wanted += (wanted.empty() ? "'" : " or '") + tag + "'";
        return error(fmt::format("unexpected end of template, expected {} to close the '{}' opened at line {}", wanted,
                                 opened, opened_line));
      }
      if (t.kind == TokenKind::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->line = t.line;
        s->column = t.column;
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.kind == TokenKind::VariableBegin) {
        advance();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->line = t.line;
        s->column = t.column;
        OFFICINA_TRY(s->expr, parse_tuple(true));
        if (cur().kind != TokenKind::VariableEnd)
          return error(fmt::format("expected end of print statement '}}}}', found {}", describe(cur())));
        advance();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::BlockBegin) {
        const Token& keyword = peek();
        if (keyword.kind == TokenKind::Name && end_tags.count(keyword.text)) {
          found_end = keyword.text;
          advance();
          advance();
          --depth_;
          return body;
        }
        advance();
        OFFICINA_TRY(StmtPtr s, parse_statement());
        body.push_back(std::move(s));
      } else {
        return error(fmt::format("unexpected {}", describe(t)));
      }
    }
    --depth_;
    return body;
  }

  Result<StmtPtr> parse_statement() {
    const Token at = cur();
    if (at.kind != TokenKind::Name) return error(fmt::format("expected a statement name, found {}", describe(at)));
    auto s = std::make_unique<Stmt>();
    s->line = at.line;
    s->column = at.column;
    const std::string keyword = at.text;
    advance();
    std::string end;
    if (keyword == "if") {
      s->kind = StmtKind::If;
      while (true) {
        OFFICINA_TRY(ExprPtr cond, parse_tuple(false));
        OFFICINA_CHECK(expect_block_end());
        OFFICINA_TRY(Body body, parse_body({"elif", "else", "endif"}, end, "if", at.line));
        s->conditions.push_back(std::move(cond));
        s->bodies.push_back(std::move(body));
        if (end == "elif") continue;
        if (end == "else") {
          OFFICINA_CHECK(expect_block_end());
          OFFICINA_TRY(s->else_body, parse_body({"endif"}, end, "if", at.line));
        }
        break;
      }
    } else if (keyword == "for") {
      s->kind = StmtKind::For;
      OFFICINA_TRY(s->targets, parse_targets());
      if (!skip_name("in")) return error(fmt::format("expected 'in' in for loop, found {}", describe(cur())));
      OFFICINA_TRY(s->expr, parse_tuple(false, /*stop_at_if=*/true));
      if (skip_name("if")) {
        OFFICINA_TRY(s->filter, parse_tuple(true));
      }
      if (skip_name("recursive")) return error("recursive for loops are not supported", at);
      OFFICINA_CHECK(expect_block_end());
      OFFICINA_TRY(Body body, parse_body({"endfor", "else"}, end, "for", at.line));
      s->bodies.push_back(std::move(body));
      if (end == "else") {
        OFFICINA_CHECK(expect_block_end());
        OFFICINA_TRY(s->else_body, parse_body({"endfor"}, end, "for", at.line));
      }
    } else if (keyword == "set") {
      OFFICINA_TRY(std::string first, expect_name());
      if (skip_op(".")) {
        s->kind = StmtKind::Set;
        s->targets = {first};
        OFFICINA_TRY(s->attribute, expect_name());
        OFFICINA_CHECK(expect_op("="));
        OFFICINA_TRY(s->expr, parse_tuple(true));
      } else if (is_op("=") || is_op(",")) {
        s->kind = StmtKind::Set;
        s->targets = {first};
        while (skip_op(",")) {
          OFFICINA_TRY(std::string more, expect_name());
          s->targets.push_back(more);
        }
        OFFICINA_CHECK(expect_op("="));
        OFFICINA_TRY(s->expr, parse_tuple(true));
      } else {
        s->kind = StmtKind::SetBlock;
        s->text = first;
        if (is_op("|")) {
          OFFICINA_TRY(s->expr, parse_filter_chain(nullptr));
        }
        OFFICINA_CHECK(expect_block_end());
        OFFICINA_TRY(Body body, parse_body({"endset"}, end, "set", at.line));
        s->bodies.push_back(std::move(body));
      }
    } else if (keyword == "macro") {
      s->kind = StmtKind::Macro;
      OFFICINA_TRY(s->text, expect_name());
      OFFICINA_CHECK(parse_params(*s));
      OFFICINA_CHECK(expect_block_end());
      OFFICINA_TRY(Body body, parse_body({"endmacro"}, end, "macro", at.line));
      s->bodies.push_back(std::move(body));
    } else if (keyword == "call") {
      s->kind = StmtKind::CallBlock;
      if (is_op("(")) OFFICINA_CHECK(parse_params(*s));
      OFFICINA_TRY(s->expr, parse_expression(true));
      if (s->expr->kind != ExprKind::Call) return error("expected a call after 'call'", at);
      OFFICINA_CHECK(expect_block_end());
      OFFICINA_TRY(Body body, parse_body({"endcall"}, end, "call", at.line));
      s->bodies.push_back(std::move(body));
    } else if (keyword == "filter") {
      s->kind = StmtKind::FilterBlock;
      OFFICINA_TRY(s->expr, parse_filter_chain(nullptr, /*leading_pipe=*/false));
      OFFICINA_CHECK(expect_block_end());
      OFFICINA_TRY(Body body, parse_body({"endfilter"}, end, "filter", at.line));
      s->bodies.push_back(std::move(body));
    } else if (keyword == "generation") {
      s->kind = StmtKind::Generation;
      OFFICINA_CHECK(expect_block_end());
      OFFICINA_TRY(Body body, parse_body({"endgeneration"}, end, "generation", at.line));
      s->bodies.push_back(std::move(body));
    } else if (keyword == "break" || keyword == "continue") {
      s->kind = keyword == "break" ? StmtKind::Break : StmtKind::Continue;
    } else if (keyword == "extends" || keyword == "include" || keyword == "import" || keyword == "from" ||
               keyword == "block") {
      return error(fmt::format("'{}' is not supported in chat templates", keyword), at);
    } else {
      return error(fmt::format("unknown tag '{}'", keyword), at);
    }
    // Closes the statement itself, or the end tag of a block statement.
    OFFICINA_CHECK(expect_block_end());
    return s;
  }

  Result<std::vector<std::string>> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    do {
      OFFICINA_TRY(std::string n, expect_name());
      names.push_back(n);
    } while (skip_op(","));
    if (paren) OFFICINA_CHECK(expect_op(")"));
    return names;
  }

  Result<void> parse_params(Stmt& s) {
    OFFICINA_CHECK(expect_op("("));
    while (!is_op(")")) {
      if (!s.params.empty()) OFFICINA_CHECK(expect_op(","));
      if (is_op(")")) break;
      OFFICINA_TRY(std::string n, expect_name());
      s.params.push_back(n);
      ExprPtr def;
      if (skip_op("=")) {
        OFFICINA_TRY(def, parse_expression(true));
      }
      s.defaults.push_back(std::move(def));
    }
    advance();
    return {};
  }

  // ---- expressions ----
  // A comma-separated list becomes a tuple; with_condexpr=false leaves a
  // trailing "if" to the caller (for-loop filters, if conditions).
  Result<ExprPtr> parse_tuple(bool with_condexpr, bool stop_at_if = false) {
    (void)stop_at_if;
    const Token at = cur();
    OFFICINA_TRY(ExprPtr first, parse_expression(with_condexpr));
    if (!is_op(",")) return first;
    auto tuple = make(ExprKind::Tuple, at);
    tuple->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().kind == TokenKind::VariableEnd || cur().kind == TokenKind::BlockEnd || is_op(")")) break;
      OFFICINA_TRY(ExprPtr more, parse_expression(with_condexpr));
      tuple->args.push_back(std::move(more));
    }
    return tuple;
  }

  struct DepthGuard {
    int& d;
    explicit DepthGuard(int& depth) : d(depth) { ++d; }
    ~DepthGuard() { --d; }
  };

  Result<ExprPtr> parse_expression(bool with_condexpr) {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return error("expression nested deeper than 128 levels");
    const Token at = cur();
    OFFICINA_TRY(ExprPtr expr, parse_or());
    if (!with_condexpr) return expr;
    while (skip_name("if")) {
      OFFICINA_TRY(ExprPtr cond, parse_or());
      ExprPtr otherwise;
      if (skip_name("else")) {
        OFFICINA_TRY(otherwise, parse_expression(true));
      }
      auto node = make(ExprKind::Conditional, at);
      node->args.push_back(std::move(expr));
      node->args.push_back(std::move(cond));
      node->args.push_back(std::move(otherwise));
      expr = std::move(node);
    }
    return expr;
  }

  Result<ExprPtr> parse_or() {
    OFFICINA_TRY(ExprPtr left, parse_and());
    while (is_name("or")) {
      const Token at = cur();
      advance();
      OFFICINA_TRY(ExprPtr right, parse_and());
      auto node = make(ExprKind::Or, at);
      node->args.push_back(std::move(left));
      node->args.push_back(std::move(right));
      left = std::move(node);
    }
    return left;
  }

  Result<ExprPtr> parse_and() {
    OFFICINA_TRY(ExprPtr left, parse_not());
    while (is_name("and")) {
      const Token at = cur();
      advance();
      OFFICINA_TRY(ExprPtr right, parse_not());
      auto node = make(ExprKind::And, at);
      node->args.push_back(std::move(left));
      node->args.push_back(std::move(right));
      left = std::move(node);
    }
    return left;
  }

  Result<ExprPtr> parse_not() {
    if (is_name("not")) {
      DepthGuard guard(depth_);
      if (depth_ > kMaxDepth) return error("expression nested deeper than 128 levels");
      const Token at = cur();
      advance();
      OFFICINA_TRY(ExprPtr operand, parse_not());
      auto node = make(ExprKind::Not, at);
      node->args.push_back(std::move(operand));
      return node;
    }
    return parse_compare();
  }

  Result<ExprPtr> parse_compare() {
    const Token at = cur();
    OFFICINA_TRY(ExprPtr first, parse_math1());
    ExprPtr node;
    while (true) {
      std::string op;
      if (cur().kind == TokenKind::Operator &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" || cur().text == ">" ||
           cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().kind == TokenKind::Name && peek().text == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      if (!node) {
        node = make(ExprKind::Compare, at);
        node->args.push_back(std::move(first));
      }
      OFFICINA_TRY(ExprPtr operand, parse_math1());
      node->ops.push_back(op);
      node->args.push_back(std::move(operand));
    }
    return node ? std::move(node) : std::move(first);
  }

  template <class Next>
  Result<ExprPtr> parse_binary(std::initializer_list<std::string_view> ops, Next next) {
    OFFICINA_TRY(ExprPtr left, (this->*next)());
    while (cur().kind == TokenKind::Operator) {
      bool match = false;
      for (auto op : ops) match = match || cur().text == op;
      if (!match) break;
      const Token at = cur();
      advance();
      OFFICINA_TRY(ExprPtr right, (this->*next)());
      auto node = make(ExprKind::Binary, at);
      node->name = at.text;
      node->args.push_back(std::move(left));
      node->args.push_back(std::move(right));
      left = std::move(node);
    }
    return left;
  }
  Result<ExprPtr> parse_math1() { return parse_binary({"+", "-"}, &Parser::parse_concat); }
  Result<ExprPtr> parse_concat() { return parse_binary({"~"}, &Parser::parse_math2); }
  Result<ExprPtr> parse_math2() { return parse_binary({"*", "/", "//", "%"}, &Parser::parse_pow); }
  Result<ExprPtr> parse_pow() { return parse_binary({"**"}, &Parser::parse_unary_filtered); }
  Result<ExprPtr> parse_unary_filtered() { return parse_unary(true); }

  Result<ExprPtr> parse_unary(bool with_filter) {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return error("expression nested deeper than 128 levels");
    const Token at = cur();
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      advance();
      OFFICINA_TRY(ExprPtr operand, parse_unary(false));
      node = make(at.text == "-" ? ExprKind::Negate : ExprKind::Plus, at);
      node->args.push_back(std::move(operand));
    } else {
      OFFICINA_TRY(node, parse_primary());
      OFFICINA_TRY(node, parse_postfix(std::move(node)));
    }
    if (with_filter) return parse_filter_expr(std::move(node));
    return node;
  }

  Result<ExprPtr> parse_primary() {
    const Token at = cur();
    switch (at.kind) {
      case TokenKind::Name: {
        advance();
        auto lit = make(ExprKind::Literal, at);
        if (at.text == "true" || at.text == "True") lit->value = Value(true);
        else if (at.text == "false" || at.text == "False") lit->value = Value(false);
        else if (at.text == "none" || at.text == "None") lit->value = Value::none();
        else {
          auto name = make(ExprKind::Name, at);
          name->name = at.text;
          return name;
        }
        return lit;
      }
      case TokenKind::String: {
        std::string text;
        while (cur().kind == TokenKind::String) {  // adjacent literals concatenate
          text += cur().text;
          advance();
        }
        auto lit = make(ExprKind::Literal, at);
        lit->value = Value(std::move(text));
        return lit;
      }
      case TokenKind::Integer: {
        advance();
        int64_t v = 0;
        auto [p, ec] = std::from_chars(at.text.data(), at.text.data() + at.text.size(), v);
        if (ec != std::errc()) return error("integer literal out of range", at);
        auto lit = make(ExprKind::Literal, at);
        lit->value = Value(v);
        return lit;
      }
      case TokenKind::Float: {
        advance();
        auto lit = make(ExprKind::Literal, at);
        lit->value = Value(std::strtod(at.text.c_str(), nullptr));
        return lit;
      }
      case TokenKind::Operator:
        if (at.text == "(") {
          advance();
          if (skip_op(")")) return make(ExprKind::Tuple, at);
          OFFICINA_TRY(ExprPtr inner, parse_expression(true));
          if (is_op(",")) {
            auto tuple = make(ExprKind::Tuple, at);
            tuple->args.push_back(std::move(inner));
            while (skip_op(",")) {
              if (is_op(")")) break;
              OFFICINA_TRY(ExprPtr more, parse_expression(true));
              tuple->args.push_back(std::move(more));
            }
            inner = std::move(tuple);
          }
          OFFICINA_CHECK(expect_op(")"));
          return inner;
        }
        if (at.text == "[") {
          advance();
          auto list = make(ExprKind::List, at);
          while (!is_op("]")) {
            if (!list->args.empty()) OFFICINA_CHECK(expect_op(","));
            if (is_op("]")) break;
            OFFICINA_TRY(ExprPtr item, parse_expression(true));
            list->args.push_back(std::move(item));
          }
          advance();
          return list;
        }
        if (at.text == "{") {
          advance();
          auto dict = make(ExprKind::Dict, at);
          while (!is_op("}")) {
            if (!dict->args.empty()) OFFICINA_CHECK(expect_op(","));
            if (is_op("}")) break;
            OFFICINA_TRY(ExprPtr key, parse_expression(true));
            OFFICINA_CHECK(expect_op(":"));
            OFFICINA_TRY(ExprPtr value, parse_expression(true));
            dict->args.push_back(std::move(key));
            dict->args.push_back(std::move(value));
          }
          advance();
          return dict;
        }
        break;
      default: break;
    }
    return error(fmt::format("unexpected {}", describe(at)));
  }

  Result<ExprPtr> parse_postfix(ExprPtr node) {
    while (true) {
      const Token at = cur();
      if (skip_op(".")) {
        if (cur().kind == TokenKind::Integer) {
          auto item = make(ExprKind::Item, at);
          auto index = make(ExprKind::Literal, cur());
          index->value = Value(static_cast<int64_t>(std::strtoll(cur().text.c_str(), nullptr, 10)));
          advance();
          item->args.push_back(std::move(node));
          item->args.push_back(std::move(index));
          node = std::move(item);
          continue;
        }
        OFFICINA_TRY(std::string attr, expect_name());
        auto access = make(ExprKind::Attribute, at);
        access->name = attr;
        access->args.push_back(std::move(node));
        node = std::move(access);
      } else if (skip_op("[")) {
        OFFICINA_TRY(node, parse_subscript(std::move(node), at));
      } else if (is_op("(")) {
        OFFICINA_TRY(node, parse_call(std::move(node)));
      } else {
        return node;
      }
    }
  }

  Result<ExprPtr> parse_subscript(ExprPtr object, const Token& at) {
    ExprPtr parts[3];
    bool is_slice = false;
    int part = 0;
    while (!is_op("]")) {
      if (skip_op(":")) {
        is_slice = true;
        if (++part > 2) return error("too many ':' in slice");
        continue;
      }
      if (parts[part]) return error(fmt::format("expected ':' or ']', found {}", describe(cur())));
      OFFICINA_TRY(parts[part], parse_expression(true));
    }
    advance();
    if (!is_slice) {
      if (!parts[0]) return error("empty subscript", at);
      auto item = make(ExprKind::Item, at);
      item->args.push_back(std::move(object));
      item->args.push_back(std::move(parts[0]));
      return item;
    }
    auto slice = make(ExprKind::Slice, at);
    slice->args.push_back(std::move(object));
    for (auto& p : parts) slice->args.push_back(std::move(p));
    return slice;
  }

  Result<void> parse_call_args(Expr& call) {
    OFFICINA_CHECK(expect_op("("));
    bool first = true;
    while (!is_op(")")) {
      if (!first) OFFICINA_CHECK(expect_op(","));
      first = false;
      if (is_op(")")) break;
      if (cur().kind == TokenKind::Name && peek().kind == TokenKind::Operator && peek().text == "=") {
        std::string key = cur().text;
        advance();
        advance();
        OFFICINA_TRY(ExprPtr value, parse_expression(true));
        call.keywords.emplace_back(key, std::move(value));
      } else {
        if (!call.keywords.empty()) return error("positional argument after keyword argument");
        OFFICINA_TRY(ExprPtr value, parse_expression(true));
        call.args.push_back(std::move(value));
      }
    }
    advance();
    return {};
  }

  Result<ExprPtr> parse_call(ExprPtr callee) {
    auto call = make(ExprKind::Call, cur());
    call->args.push_back(std::move(callee));
    OFFICINA_CHECK(parse_call_args(*call));
    return call;
  }

  // `| name(args) | name ...`; operand may be null (filter blocks).
  Result<ExprPtr> parse_filter_chain(ExprPtr operand, bool leading_pipe = true) {
    bool first = true;
    while ((first && !leading_pipe) || skip_op("|")) {
      first = false;
      const Token at = cur();
      OFFICINA_TRY(std::string name, expect_name());
      while (skip_op(".")) {
        OFFICINA_TRY(std::string more, expect_name());
        name += "." + more;
      }
      auto filter = make(ExprKind::Filter, at);
      filter->name = name;
      filter->args.push_back(std::move(operand));
      if (is_op("(")) OFFICINA_CHECK(parse_call_args(*filter));
      operand = std::move(filter);
    }
    return operand;
  }

  Result<ExprPtr> parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        OFFICINA_TRY(node, parse_filter_chain(std::move(node)));
      } else if (is_name("is")) {
        const Token at = cur();
        advance();
        auto test = make(ExprKind::Test, at);
        test->negated = skip_name("not");
        OFFICINA_TRY(test->name, expect_name());
        test->args.push_back(std::move(node));
        if (is_op("(")) {
          OFFICINA_CHECK(parse_call_args(*test));
        } else if ((cur().kind == TokenKind::Name || cur().kind == TokenKind::String ||
                    cur().kind == TokenKind::Integer || cur().kind == TokenKind::Float || is_op("[") ||
                    is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) return error("you cannot chain multiple tests with 'is'");
          OFFICINA_TRY(ExprPtr arg, parse_primary());
          OFFICINA_TRY(arg, parse_postfix(std::move(arg)));
          test->args.push_back(std::move(arg));
        }
        node = std::move(test);
      } else if (is_op("(")) {
        OFFICINA_TRY(node, parse_call(std::move(node)));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  std::string_view name_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<Template> parse_template(std::string_view source, std::string_view name, const LexOptions& options) {
  OFFICINA_TRY(std::vector<Token> tokens, lex_template(source, name, options));
  return Parser(std::move(tokens), name).run();
}

}  // namespace officina::jinja
