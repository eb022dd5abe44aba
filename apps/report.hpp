#pragma once
// `digitnet report`: one self-contained HTML page about a trained model (no network needed to
// open it): training curves, confusion matrix heat map, the most confident mistakes, per-class
// accuracy, and the first layer's weights as image tiles. Charts are SVG written here; images
// are PNG data URIs. Optionally every figure is also written as a PNG (librsvg renders the SVG).
#include <string>

#include <nlohmann/json.hpp>

#include "digitnet/data/model.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/split.hpp"

namespace digitnet {

// The numbers `eval --json` prints: accuracy, examples, split, confusion, per_class.
nlohmann::json evaluation_json(const Metrics& m, std::size_t examples, const std::string& split);

// Writes the page to html_path (atomically); with png_dir, one PNG per figure there too.
void write_report(Model& model, const std::string& model_path, const DataSplit& data, const std::string& html_path,
                  const std::string& png_dir = "");

// Pieces, for tests and reuse.
struct Series {
  std::string name, colour;
  std::vector<double> x, y;
};
std::string svg_line_chart(const std::string& title, const std::vector<Series>& series, const std::string& x_label,
                           const std::string& y_label);
std::string svg_confusion(const std::vector<std::vector<std::size_t>>& confusion);
std::string svg_bars(const std::string& title, const std::vector<double>& values, const std::string& y_label);
std::string png_data_uri(const std::vector<std::uint8_t>& rgb, int width, int height);  // 3 bytes per pixel

}  // namespace digitnet
