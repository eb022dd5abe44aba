#include "sweep_table.hpp"

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet::cli {
namespace {

void append_field(std::string& line, const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    line.append(s);
    return;
  }
  line.push_back('"');
  for (char c : s) {
    if (c == '"') line.push_back('"');  // a quote, doubled
    line.push_back(c);
  }
  line.push_back('"');
}

}  // namespace

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line.push_back(',');
    append_field(line, fields[i]);
  }
  line.push_back('\n');
  return line;
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, started = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') field += c;
      else if (i + 1 < text.size() && text[i + 1] == '"') field += text[++i];
      else quoted = false;
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      started = false;
      continue;
    } else if (c != '\r') {
      field += c;
    }
    started = true;
  }
  if (quoted) throw Error(fmt::format("{}: a quoted field does not end", path));
  if (started) throw Error(fmt::format("{}: the last line is cut short (no newline)", path));
  return rows;
}

}  // namespace digitnet::cli
