#pragma once
// Writing a dataset out for other tools, each format read back by `--data` as the very same
// examples: the value range goes where the format keeps it (a PGM's maxval; the 8x8 digits'
// own CSV layout; for IDX, which has no place for it, dataset.json beside the files).
#include <string>

#include "digitnet/train/split.hpp"

namespace digitnet {

enum class ExportFormat { csv, idx, png_folders };
ExportFormat parse_export_format(std::string_view name);  // csv | idx | png-folders

// OUT/train.csv + OUT/test.csv (Kaggle's layout: a header, the label first; scikit-learn's
// for the 8x8 digits: 64 values 0..16, then the label); OUT/{train,t10k}-{images,labels}-idx?-ubyte;
// or OUT/{train,test}/<label>/<n>.png (a .pgm with maxval pixel_max when pixels are not 0..255).
// OUT, and each png-folders part, also gets dataset.json: {"name", "pixel_max", "height",
// "width", "examples"}. Each file is written atomically.
// part: which of the two to write ("train", "test" or "both").
enum class ExportPart { both, train, test };
ExportPart parse_export_part(std::string_view name);  // throws SettingError naming "part"
void export_dataset(const DataSplit& data, ExportFormat format, const std::string& out_dir,
                    ExportPart part = ExportPart::both);

}  // namespace digitnet
