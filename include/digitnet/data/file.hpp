#pragma once
// Whole-file reads, transparent gzip, and atomic writes (temp file + rename).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

using Bytes = std::vector<std::uint8_t>;

Bytes read_file(const std::string& path);  // throws Error naming the file
// If bytes start with the gzip magic, inflate them (at most max_out bytes); else return a copy.
Bytes gunzip_if_gzipped(std::span<const std::uint8_t> bytes, const std::string& what,
                        std::size_t max_out = std::size_t(2) << 30);
Bytes read_maybe_gzipped(const std::string& path);

// Temp file name next to `path`, unique to this process; rename it over `path` when complete.
std::string temp_path_for(const std::string& path);
void commit_temp(const std::string& temp, const std::string& path);  // rename, or remove temp and throw
void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes);

}  // namespace digitnet
