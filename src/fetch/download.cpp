#include "digitnet/fetch/download.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"

namespace digitnet {

std::string digest(std::span<const std::uint8_t> bytes, const std::string& algorithm) {
  const EVP_MD* md = algorithm == "md5" ? EVP_md5() : algorithm == "sha256" ? EVP_sha256() : nullptr;
  if (!md) throw Error("unknown digest " + algorithm);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr)) throw Error("digest failed");
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex;
}

std::string file_digest(const std::string& path, const std::string& algorithm) {
  return digest(read_file(path), algorithm);
}

namespace {

struct Transfer {
  std::FILE* out = nullptr;
  const FetchOptions* options = nullptr;
  std::string url;
};

std::size_t write_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  return std::fwrite(data, size, n, t->out) * size;
}

int on_progress(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->options->progress && done > 0)
    t->options->progress(t->url, static_cast<std::uint64_t>(done), static_cast<std::uint64_t>(total));
  return 0;
}

// One attempt; returns "" on success, else why it failed.
std::string try_download(const std::string& url, const std::string& temp, const FetchOptions& options) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return "cannot start libcurl";
  std::FILE* out = std::fopen(temp.c_str(), "wb");
  if (!out) return fmt::format("cannot write {}", temp);
  Transfer t{out, &options, url};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);  // 404 and friends are errors
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);  // < 1 byte/s for stall_timeout_s: stalled
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "digitnet/0.1");
  const CURLcode rc = curl_easy_perform(curl.get());
  const bool closed = std::fclose(out) == 0;
  if (rc != CURLE_OK) return errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (!closed) return fmt::format("cannot write {}", temp);
  return "";
}

}  // namespace

void fetch_file(const std::vector<std::string>& base_urls, const RemoteFile& file, const std::string& dest_dir,
                const FetchOptions& options) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) throw Error("cannot initialise libcurl");
  std::error_code ec;
  std::filesystem::create_directories(dest_dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create directory ({})", dest_dir, ec.message()));
  const std::string dest = (std::filesystem::path(dest_dir) / file.name).string();
  TempFile temp(dest);
  std::string tried;
  for (const std::string& base : base_urls) {
    const std::string url = base + (base.ends_with("/") ? "" : "/") + file.name;
    if (options.log) options.log(fmt::format("downloading {}", url));
    std::string why = try_download(url, temp.name(), options);
    if (why.empty()) {
      const Bytes bytes = read_file(temp.name());
      if (!file.md5.empty() && digest(bytes, "md5") != file.md5)
        why = fmt::format("MD5 {} does not match the published {}", digest(bytes, "md5"), file.md5);
      else if (!file.sha256.empty() && digest(bytes, "sha256") != file.sha256)
        why = fmt::format("SHA-256 does not match the published {}", file.sha256);
    }
    if (why.empty()) return temp.commit();
    tried += fmt::format("{}{} ({})", tried.empty() ? "" : ", ", url, why);
  }
  throw Error(fmt::format("could not download {}: tried {}", file.name, tried));
}

}  // namespace digitnet
