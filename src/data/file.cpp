#include "digitnet/data/file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

Bytes read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("{}: is a directory, expected a file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(fmt::format("{}: read error", path));
  return bytes;
}

Bytes gunzip_if_gzipped(std::span<const std::uint8_t> bytes, const std::string& what, std::size_t max_out) {
  if (bytes.size() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b) return Bytes(bytes.begin(), bytes.end());
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw Error(what + ": cannot start gzip decoder");
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  Bytes out;
  int rc = Z_OK;
  std::uint8_t chunk[1 << 16];
  while (rc != Z_STREAM_END) {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw Error(fmt::format("{}: corrupt or truncated gzip data", what));
    }
    out.insert(out.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
    if (out.size() > max_out) {
      inflateEnd(&zs);
      throw Error(fmt::format("{}: gzip data expands to more than {} bytes", what, max_out));
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw Error(fmt::format("{}: truncated gzip data", what));
    }
  }
  inflateEnd(&zs);
  return out;
}

Bytes read_maybe_gzipped(const std::string& path) { return gunzip_if_gzipped(read_file(path), path); }

std::string temp_path_for(const std::string& path) { return fmt::format("{}.tmp-{}", path, ::getpid()); }

void commit_temp(const std::string& temp, const std::string& path) {
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    throw Error(fmt::format("{}: cannot write ({})", path, std::strerror(err)));
  }
}

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
  const std::string temp = temp_path_for(path);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot write ({})", path, std::strerror(errno)));
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(temp.c_str());
      throw Error(fmt::format("{}: write failed", path));
    }
  }
  commit_temp(temp, path);
}

}  // namespace digitnet
