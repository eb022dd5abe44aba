#pragma once
// Loading a dataset from a path: a directory of IDX files, a Kaggle-style CSV,
// scikit-learn's digits.csv[.gz], or a folder of 0/ .. 9/ image folders.
#include <cstdint>
#include <string>

#include "digitnet/core/dataset.hpp"
#include "digitnet/train/recipe.hpp"
#include "digitnet/train/split.hpp"

namespace digitnet {

// PATH is a directory with one folder per label (0/ .. 9/) of PNG/JPEG/PGM images, prepared
// like `predict` does (28x28), or a directory of IDX files (train-images-idx3-ubyte[.gz],
// t10k-..., '-' or '.' before idx), a Kaggle-style CSV (header, label first), or
// scikit-learn's digits.csv[.gz] (no header, 64 values then the label). Split automatic:
// official if the directory has t10k files, else random:0.2, drawn from `seed`.
DataSplit load_data(const std::string& path, const SplitSpec& split, std::uint64_t seed);

// The data of a run: the recipe's dataset at `path` split into its training and test parts
// (and a validation share when the recipe asks for one), with the recipe's network fitted to
// it (recipe.hpp: fit_to_data). digest is left for the caller (a SHA-256 of the examples).
struct RunData {
  DataSplit split;
  Dataset val;
  std::string digest;
};
RunData load_run_data(Recipe& r, const std::string& path, bool layers_given);

// The file `data export` writes beside what it exports: {"name": ..., "pixel_max": ...}.
constexpr const char* kDatasetSidecar = "dataset.json";

// "fashion-mnist" for /usr/share/datasets/fashion-mnist/, "digits" for .../digits.csv.gz.
std::string dataset_name(const std::string& path);

// The loaders load_data uses.
Dataset load_any(const std::string& path);  // CSV file, image folders, or the train half of an IDX directory
Dataset load_image_folders(const std::string& dir);

}  // namespace digitnet
