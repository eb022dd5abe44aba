#pragma once
// Writing a dataset out for other tools: Kaggle-style CSV, IDX files, or PNG folders.
#include <string>

#include "digitnet/train/split.hpp"

namespace digitnet {

enum class ExportFormat { csv, idx, png_folders };
ExportFormat parse_export_format(std::string_view name);  // csv | idx | png-folders

// OUT/train.csv + OUT/test.csv; OUT/{train,t10k}-{images,labels}-idx?-ubyte; or
// OUT/{train,test}/<label>/<n>.png. Each file is written atomically.
void export_dataset(const DataSplit& data, ExportFormat format, const std::string& out_dir);

}  // namespace digitnet
