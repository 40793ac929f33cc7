#include "app/config/validate_command.hpp"

#include "core/sip_headers.hpp"
#include "core/verb_validation.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace dp::app {
namespace {

namespace json = boost::json;

std::optional<std::string> read_file(const std::string& path, std::string& reason) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {  // an ifstream "opens" a directory on Linux
    reason = "is a directory";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    reason = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    reason = "read error";
    return std::nullopt;
  }
  return ss.str();
}

// 1-based line and column of byte offset `pos`, so a parse error points into the file.
std::string position(std::string_view text, std::size_t pos) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::optional<json::value> parse(std::string_view text, std::string& error) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // editors add a UTF-8 BOM
  json::stream_parser p;
  json::error_code ec;
  std::size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    error = "invalid JSON at " + position(text, used) + ": " + ec.message();
    return std::nullopt;
  }
  return p.release();
}

}  // namespace

int run_validate(const std::string& path, std::ostream& out, std::ostream& err) {
  std::string reason;
  auto text = read_file(path, reason);
  if (!text) {
    err << "error: cannot read " << path << ": " << reason << "\n";
    return 2;
  }
  std::string parse_error;
  auto app = parse(*text, parse_error);
  if (!app) {
    err << "error: " << path << ": " << parse_error << "\n";
    return 1;
  }
  auto result = core::validate_app(*app);
  if (!result.ok()) {
    err << "error: " << path << ": " << *result.error << "\n";
    return 1;
  }
  for (const auto& verb : result.verbs) {
    if (auto header_error = core::check_dial_headers(verb.get_object())) {
      err << "error: " << path << ": " << *header_error << "\n";
      return 1;
    }
  }
  out << "OK: " << result.verbs.size() << " verbs\n";
  return 0;
}

}  // namespace dp::app
