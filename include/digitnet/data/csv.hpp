#pragma once
// Digits as CSV text: Kaggle's layout (header row, "label" column first, then pixels
// 0..255) or scikit-learn's digits.csv (no header, 64 values 0..16, label last). Lines may end
// in CRLF, and the text may start with a UTF-8 byte order mark (as Excel saves it).
#include <string>
#include <string_view>

#include "digitnet/core/dataset.hpp"

namespace digitnet {

Dataset parse_csv(std::string_view text, const std::string& what);
Dataset load_csv(const std::string& path);  // gzipped or not

}  // namespace digitnet
