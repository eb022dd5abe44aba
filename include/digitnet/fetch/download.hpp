#pragma once
// Downloading a file over HTTP(S) with libcurl, verified before it is kept: it goes to a
// temp file next to its destination and is renamed only once its checksum matches, so an
// interrupted or corrupt download never looks cached.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

struct RemoteFile {
  std::string name;  // file name, appended to each base URL
  std::string md5;   // expected hex digest (either or both)
  std::string sha256;
};

struct FetchOptions {
  long connect_timeout_s = 20;
  long stall_timeout_s = 30;  // give up on a server that sends nothing for this long
  // Called as bytes arrive (total 0 when the server does not say).
  std::function<void(const std::string& url, std::uint64_t done, std::uint64_t total)> progress;
  std::function<void(const std::string& message)> log;  // "downloading URL"
  // A cached dataset whose files fail their checksums: false, an error saying how to repair it;
  // true, the failing files are fetched (or rebuilt) again (`digitnet data fetch`).
  bool repair = false;
};

// Tries base_urls in turn until one gives the file with the right checksum, and leaves it
// at dest_dir/name. Throws Error naming every URL tried and why it failed.
void fetch_file(const std::vector<std::string>& base_urls, const RemoteFile& file, const std::string& dest_dir,
                const FetchOptions& options = {});

// Hex digest of bytes: "md5" or "sha256" (OpenSSL).
std::string digest(std::span<const std::uint8_t> bytes, const std::string& algorithm);
std::string file_digest(const std::string& path, const std::string& algorithm);

}  // namespace digitnet
