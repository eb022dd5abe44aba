#pragma once
// The sweep's table of results as CSV (sweep_cmd.cpp): the lines it writes, and reading them
// back when a stopped sweep goes on (fuzz/sweep_table_fuzz.cpp feeds it any bytes).
#include <string>
#include <string_view>
#include <vector>

namespace digitnet::cli {

// One record, fields quoted where they hold a comma, a quote or a line break; ends in '\n'.
std::string csv_line(const std::vector<std::string>& fields);
// The records of text written by csv_line. Throws Error naming `path` if a quoted field or
// the last line does not end.
std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& path);

}  // namespace digitnet::cli
