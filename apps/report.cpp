#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/image.hpp"
#ifdef DIGITNET_HAVE_RSVG
#include <librsvg/rsvg.h>
#endif

namespace digitnet {

nlohmann::json evaluation_json(const Metrics& m, std::size_t examples, const std::string& split) {
  nlohmann::json per_class = nlohmann::json::array();
  for (std::size_t c = 0; c < m.precision.size(); ++c)
    per_class.push_back(
        {{"class", c}, {"precision", m.precision[c]}, {"recall", m.recall[c]}, {"support", m.support[c]}});
  return {{"accuracy", m.accuracy},
          {"examples", examples},
          {"split", split},
          {"confusion", m.confusion},
          {"per_class", per_class}};
}

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// JSON inside <script>: only "</" could end the element early.
std::string script_safe(std::string json) {
  for (std::size_t p = json.find("</"); p != std::string::npos; p = json.find("</", p + 3)) json.replace(p, 2, "<\\/");
  return json;
}

std::string svg_open(int w, int h) {
  return fmt::format(R"~(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" )~"
                     R"~(font-family="sans-serif" font-size="12">)~",
                     w, h, w, h);
}

// Round "nice" tick values between lo and hi.
std::vector<double> ticks(double lo, double hi, int want = 5) {
  const double span = hi - lo > 0 ? hi - lo : 1;
  const double raw = span / want, mag = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / mag < 2 ? 2 * mag : raw / mag < 5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  const double first = std::ceil(lo / step);
  for (int k = 0; (first + k) * step <= hi + 1e-9 * span; ++k) t.push_back((first + k) * step);
  return t;
}

// White (0) to blue (1).
void heat(double v, std::uint8_t rgb[3]) {
  v = std::clamp(v, 0.0, 1.0);
  rgb[0] = static_cast<std::uint8_t>(255 - 213 * v);
  rgb[1] = static_cast<std::uint8_t>(255 - 133 * v);
  rgb[2] = static_cast<std::uint8_t>(255 - 70 * v);
}

}  // namespace

std::string svg_line_chart(const std::string& title, const std::vector<Series>& series, const std::string& x_label,
                           const std::string& y_label) {
  const int W = 520, H = 300, L = 60, R = 130, T = 30, B = 45;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;
  const auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  const auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::string s = svg_open(W, H);
  s += fmt::format(R"~(<text x="{}" y="18" font-weight="bold" font-size="14">{}</text>)~", L, escape(title));
  for (double t : ticks(y0, y1)) {
    s += fmt::format(R"~(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#ddd"/>)~", L, W - R, py(t), py(t));
    s += fmt::format(R"~(<text x="{}" y="{:.1f}" text-anchor="end">{:g}</text>)~", L - 6, py(t) + 4, t);
  }
  for (double t : ticks(x0, x1))
    s += fmt::format(R"~(<text x="{:.1f}" y="{}" text-anchor="middle">{:g}</text>)~", px(t), H - B + 16, t);
  s += fmt::format(R"~(<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#333"/>)~", L, W - R, H - B, H - B);
  s += fmt::format(R"~(<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#333"/>)~", L, L, T, H - B);
  s += fmt::format(R"~(<text x="{}" y="{}" text-anchor="middle">{}</text>)~", (L + W - R) / 2, H - 8, escape(x_label));
  s += fmt::format(R"~(<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>)~",
                   (T + H - B) / 2, (T + H - B) / 2, escape(y_label));
  int row = 0;
  for (const auto& ser : series) {
    if (ser.x.empty()) continue;
    std::string pts;
    for (std::size_t i = 0; i < ser.x.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", px(ser.x[i]), py(ser.y[i]));
    s += fmt::format(R"~(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)~", ser.colour, pts);
    for (std::size_t i = 0; i < ser.x.size(); ++i)
      s += fmt::format(R"~(<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}"/>)~", px(ser.x[i]), py(ser.y[i]),
                       ser.colour);
    const int ly = T + 10 + 18 * row++;
    s += fmt::format(R"~(<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="3"/>)~", W - R + 12,
                     W - R + 32, ly, ly, ser.colour);
    s += fmt::format(R"~(<text x="{}" y="{}">{}</text>)~", W - R + 38, ly + 4, escape(ser.name));
  }
  return s + "</svg>";
}

std::string svg_confusion(const std::vector<std::vector<std::size_t>>& confusion) {
  const int K = static_cast<int>(confusion.size()), cell = 36, L = 60, T = 50;
  const int W = L + K * cell + 20, H = T + K * cell + 40;
  std::size_t top = 1;
  for (const auto& row : confusion) top = std::max(top, *std::max_element(row.begin(), row.end()));
  std::string s = svg_open(W, H);
  s += fmt::format(
      R"~(<text x="{}" y="18" font-weight="bold" font-size="14">Confusion matrix (rows: true, columns: predicted)</text>)~",
      10);
  for (int c = 0; c < K; ++c) {
    s += fmt::format(R"~(<text x="{}" y="{}" text-anchor="middle">{}</text>)~", L + c * cell + cell / 2, T - 8, c);
    s += fmt::format(R"~(<text x="{}" y="{}" text-anchor="end">{}</text>)~", L - 8, T + c * cell + cell / 2 + 4, c);
  }
  for (int t = 0; t < K; ++t)
    for (int p = 0; p < K; ++p) {
      // sqrt so the small off-diagonal counts are still visible next to the diagonal
      const double v = std::sqrt(double(confusion[t][p]) / double(top));
      std::uint8_t rgb[3];
      heat(v, rgb);
      s += fmt::format(R"~(<rect x="{}" y="{}" width="{}" height="{}" fill="rgb({},{},{})" stroke="#fff"/>)~",
                       L + p * cell, T + t * cell, cell, cell, rgb[0], rgb[1], rgb[2]);
      s +=
          fmt::format(R"~(<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="{}">{}</text>)~",
                      L + p * cell + cell / 2, T + t * cell + cell / 2 + 4, v > 0.6 ? "#fff" : "#222", confusion[t][p]);
    }
  return s + "</svg>";
}

std::string svg_bars(const std::string& title, const std::vector<double>& values, const std::string& y_label) {
  const int K = static_cast<int>(values.size()), bw = 36, L = 60, T = 30, B = 40, Hc = 200;
  const int W = L + K * bw + 20, H = T + Hc + B;
  double lo = 1;
  for (double v : values) lo = std::min(lo, v);
  lo = std::max(0.0, std::floor(lo * 10 - 0.5) / 10);  // start the axis a little below the worst class
  const auto py = [&](double v) { return T + Hc - (v - lo) / (1 - lo) * Hc; };
  std::string s = svg_open(W, H);
  s += fmt::format(R"~(<text x="{}" y="18" font-weight="bold" font-size="14">{}</text>)~", 10, escape(title));
  for (double t : ticks(lo, 1.0)) {
    s += fmt::format(R"~(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#ddd"/>)~", L, W - 20, py(t), py(t));
    s += fmt::format(R"~(<text x="{}" y="{:.1f}" text-anchor="end">{:g}%</text>)~", L - 6, py(t) + 4, 100 * t);
  }
  for (int c = 0; c < K; ++c) {
    const double y = py(values[c]);
    s += fmt::format(R"~(<rect x="{}" y="{:.1f}" width="{}" height="{:.1f}" fill="#2a7ab9"/>)~", L + c * bw + 4, y,
                     bw - 8, T + Hc - y);
    s += fmt::format(R"~(<text x="{}" y="{}" text-anchor="middle">{}</text>)~", L + c * bw + bw / 2, T + Hc + 16, c);
  }
  s += fmt::format(R"~(<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>)~", T + Hc / 2,
                   T + Hc / 2, escape(y_label));
  return s + "</svg>";
}

std::string png_data_uri(const std::vector<std::uint8_t>& rgb, int width, int height) {
  const Bytes png = encode_png(rgb.data(), width, height, 3);
  std::string b64(4 * ((png.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), png.data(), static_cast<int>(png.size()));
  b64.resize(static_cast<std::size_t>(n));
  return "data:image/png;base64," + b64;
}

namespace {

// An image (values in [0,1], light = ink) as RGB scaled up `zoom` times, dark ink on white.
std::vector<std::uint8_t> digit_rgb(std::span<const float> px, int h, int w, int zoom) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(h * zoom) * w * zoom * 3);
  for (int y = 0; y < h * zoom; ++y)
    for (int x = 0; x < w * zoom; ++x) {
      const auto v =
          static_cast<std::uint8_t>(255 - std::lround(std::clamp(px[(y / zoom) * w + x / zoom], 0.0f, 1.0f) * 255));
      for (int c = 0; c < 3; ++c) rgb[(static_cast<std::size_t>(y) * w * zoom + x) * 3 + c] = v;
    }
  return rgb;
}

// A weight tile: red negative, white zero, blue positive, scaled by the tile's largest |w|.
std::vector<std::uint8_t> weight_rgb(const std::vector<float>& w, int h, int wd, int zoom) {
  float top = 1e-12f;
  for (float v : w) top = std::max(top, std::abs(v));
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(h * zoom) * wd * zoom * 3);
  for (int y = 0; y < h * zoom; ++y)
    for (int x = 0; x < wd * zoom; ++x) {
      const float v = w[(y / zoom) * wd + x / zoom] / top;
      std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * wd * zoom + x) * 3];
      const auto fade = static_cast<std::uint8_t>(255 - std::lround(std::abs(v) * 255));
      p[0] = v < 0 ? 255 : fade;
      p[1] = fade;
      p[2] = v > 0 ? 255 : fade;
    }
  return rgb;
}

// Images of one size in a grid, 8 to a row, as PNG bytes.
Bytes png_grid(const std::vector<std::vector<std::uint8_t>>& images, int h, int w) {
  const int cols = 8, rows = std::max(1, (static_cast<int>(images.size()) + cols - 1) / cols), gap = 2;
  const int GW = cols * (w + gap), GH = rows * (h + gap);
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(GW) * GH * 3, 255);
  for (std::size_t k = 0; k < images.size(); ++k) {
    const int ox = static_cast<int>(k % cols) * (w + gap), oy = static_cast<int>(k / cols) * (h + gap);
    for (int y = 0; y < h; ++y)
      std::copy_n(&images[k][static_cast<std::size_t>(y) * w * 3], w * 3,
                  &rgb[(static_cast<std::size_t>(oy + y) * GW + ox) * 3]);
  }
  return encode_png(rgb.data(), GW, GH, 3);
}

#ifdef DIGITNET_HAVE_RSVG
cairo_status_t append_png(void* out, const unsigned char* data, unsigned int length) {
  auto* bytes = static_cast<Bytes*>(out);
  bytes->insert(bytes->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}
#endif

// An SVG figure rendered to PNG bytes by librsvg.
Bytes svg_to_png(const std::string& svg, const std::string& path) {
#ifdef DIGITNET_HAVE_RSVG
  GError* err = nullptr;
  RsvgHandle* handle = rsvg_handle_new_from_data(reinterpret_cast<const guint8*>(svg.data()), svg.size(), &err);
  if (!handle) throw Error(fmt::format("{}: cannot render the figure ({})", path, err ? err->message : "?"));
  gdouble w = 0, h = 0;
  rsvg_handle_get_intrinsic_size_in_pixels(handle, &w, &h);
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, static_cast<int>(w), static_cast<int>(h));
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  RsvgRectangle viewport{0, 0, w, h};
  Bytes png;
  const bool ok = rsvg_handle_render_document(handle, cr, &viewport, &err) &&
                  cairo_surface_write_to_png_stream(surface, append_png, &png) == CAIRO_STATUS_SUCCESS;
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  g_object_unref(handle);
  if (!ok) throw Error(fmt::format("{}: cannot render the figure", path));
  return png;
#else
  (void)svg;
  throw Error(fmt::format("{}: this build cannot write PNG figures (librsvg was not found when it was built)", path));
#endif
}

}  // namespace

namespace {

// The figures, as SVG: training curves from the history the model file keeps, the confusion
// matrix, and the accuracy of each class.
struct Figures {
  std::string loss, accuracy, confusion, per_class;
};
Figures figures(const nlohmann::json& history, const Metrics& metrics) {
  std::vector<Series> loss{{"training loss", "#c0392b", {}, {}}};
  std::vector<Series> acc{{"train", "#e67e22", {}, {}}, {"test", "#2a7ab9", {}, {}}, {"validation", "#27ae60", {}, {}}};
  for (const auto& h : history) {
    const double e = h.value("epoch", 0);
    if (h.contains("loss") && h["loss"].is_number()) loss[0].x.push_back(e), loss[0].y.push_back(h["loss"]);
    const char* keys[] = {"train_accuracy", "test_accuracy", "val_accuracy"};
    for (int k = 0; k < 3; ++k)
      if (h.contains(keys[k]) && h[keys[k]].is_number()) acc[k].x.push_back(e), acc[k].y.push_back(h[keys[k]]);
  }
  const std::vector<double> per_class(metrics.recall.begin(), metrics.recall.end());
  return {svg_line_chart("Loss per epoch", loss, "epoch", "mean loss per example"),
          svg_line_chart("Accuracy per epoch", acc, "epoch", "accuracy"), svg_confusion(metrics.confusion),
          svg_bars("Accuracy per class (recall)", per_class, "accuracy")};
}

// Images in the page (HTML) and the same images as RGB, for the PNG grid.
struct Gallery {
  std::string html;
  std::vector<std::vector<std::uint8_t>> images;
};

// The most confident mistakes, at most 24.
Gallery confident_mistakes(const Dataset& test, const Predictions& pred, int zoom) {
  std::vector<std::size_t> wrong;
  for (std::size_t i = 0; i < test.size(); ++i)
    if (pred.label[i] != test.labels[i]) wrong.push_back(i);
  const auto confidence = [&](std::size_t i) { return pred.probs(static_cast<int>(i), pred.label[i]); };
  std::sort(wrong.begin(), wrong.end(), [&](std::size_t a, std::size_t b) { return confidence(a) > confidence(b); });
  wrong.resize(std::min<std::size_t>(wrong.size(), 24));
  Gallery g;
  std::vector<float> px(test.features());
  for (std::size_t i : wrong) {
    for (int f = 0; f < test.features(); ++f) px[f] = test.image(i)[f] / test.pixel_max;
    g.images.push_back(digit_rgb(px, test.height, test.width, zoom));
    g.html += fmt::format(
        R"~(<figure><img src="{}" alt="example {}"><figcaption>true {} &middot; predicted {} ({:.1f}%)</figcaption></figure>)~",
        png_data_uri(g.images.back(), test.width * zoom, test.height * zoom), i, test.labels[i], pred.label[i],
        100 * confidence(i));
  }
  if (g.html.empty()) g.html = "<p>None.</p>";
  return g;
}

// First-layer weights: one tile per hidden unit (at most 64), shaped like the input image.
Gallery weight_tiles(const Model& model, int zoom) {
  Gallery g;
  const int F = model.height * model.width;
  const auto W1 = model.net.layers[0].W();  // (out, in)
  const int units = std::min(64, model.net.layers[0].out());
  for (int u = 0; u < units; ++u) {
    const std::vector<float> w(W1.begin() + static_cast<std::ptrdiff_t>(u) * F,
                               W1.begin() + static_cast<std::ptrdiff_t>(u + 1) * F);
    g.images.push_back(weight_rgb(w, model.height, model.width, zoom));
    g.html += fmt::format(R"~(<img class="tile" src="{}" alt="unit {}" title="unit {}">)~",
                          png_data_uri(g.images.back(), model.width * zoom, model.height * zoom), u, u);
  }
  return g;
}

std::string class_table_rows(const Metrics& m) {
  std::string rows;
  for (std::size_t c = 0; c < m.precision.size(); ++c)
    rows += fmt::format("<tr><td>{}</td><td>{:.2f}%</td><td>{:.2f}%</td><td>{}</td></tr>", c, 100 * m.precision[c],
                        100 * m.recall[c], m.support[c]);
  return rows;
}

struct Page {
  std::string model_name, split;
  std::size_t examples;
  const Metrics& metrics;
  const Figures& figs;
  const Gallery& mistakes;
  const Gallery& tiles;
  const nlohmann::json& config;
  const nlohmann::json& eval;
};

std::string page_html(const Page& p) {
  const auto& cfg = p.config;
  return fmt::format(
      R"~(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>digitnet report: {model}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
section {{ margin: 2em 0; }} .row {{ display: flex; flex-wrap: wrap; gap: 1em; }}
figure {{ display: inline-block; margin: 4px; text-align: center; font-size: 12px; }}
img.tile {{ margin: 2px; image-rendering: pixelated; }} img {{ image-rendering: pixelated; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 2px 10px; text-align: right; border-bottom: 1px solid #ddd; }}
</style></head><body>
<h1>digitnet report</h1>
<p><b>{model}</b>: {layers} {act}/{loss}, trained on {dataset}. Evaluated on {n} test examples (split {split}):
<b>accuracy {acc:.2f}%</b>.</p>
<section id="curves"><h2>Training curves</h2><div class="row">{fig_loss}{fig_acc}</div></section>
<section id="confusion"><h2>Confusion matrix</h2>{fig_conf}</section>
<section id="per-class"><h2>Per-class accuracy</h2><div class="row">{fig_class}
<table><tr><th>class</th><th>precision</th><th>recall</th><th>support</th></tr>{rows}</table></div></section>
<section id="mistakes"><h2>Most confident mistakes</h2>{mistakes}</section>
<section id="weights"><h2>First-layer weights</h2><p>Each tile is one hidden unit's weights over the input image
(blue positive, red negative).</p>{tiles}</section>
<script type="application/json" id="metrics">{json}</script>
</body></html>
)~",
      fmt::arg("model", escape(p.model_name)),
      fmt::arg("layers", escape(cfg.contains("layers") ? cfg["layers"].dump() : "")),
      fmt::arg("act", escape(cfg.value("hidden_activation", ""))), fmt::arg("loss", escape(cfg.value("loss", ""))),
      fmt::arg("dataset", escape(cfg.value("dataset", "?"))), fmt::arg("n", p.examples),
      fmt::arg("split", escape(p.split)), fmt::arg("acc", 100 * p.metrics.accuracy), fmt::arg("fig_loss", p.figs.loss),
      fmt::arg("fig_acc", p.figs.accuracy), fmt::arg("fig_conf", p.figs.confusion),
      fmt::arg("fig_class", p.figs.per_class), fmt::arg("rows", class_table_rows(p.metrics)),
      fmt::arg("mistakes", p.mistakes.html), fmt::arg("tiles", p.tiles.html),
      fmt::arg("json", script_safe(p.eval.dump())));
}

}  // namespace

void write_report(Model& model, const std::string& model_path, const DataSplit& data, const std::string& html_path,
                  const std::string& png_dir) {
  const Dataset& test = data.test;
  const Predictions pred = predict_dataset(model.net, model.norm, test);
  const Metrics metrics = compute_metrics(test.labels, pred.label, model.net.arch().classes());
  const nlohmann::json eval = evaluation_json(metrics, test.size(), data.split);
  const Figures figs = figures(model.config.value("history", nlohmann::json::array()), metrics);
  const int zoom = test.height <= 8 ? 8 : 3;
  const Gallery mistakes = confident_mistakes(test, pred, zoom), tiles = weight_tiles(model, zoom);
  const std::string html = page_html({std::filesystem::path(model_path).filename().string(), data.split, test.size(),
                                      metrics, figs, mistakes, tiles, model.config, eval});
  // Every file is made before any is written, and the page comes last: a report that fails
  // leaves no page behind (each file is written whole or not at all).
  std::vector<std::pair<std::string, Bytes>> pngs;
  if (!png_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(png_dir, ec);
    if (ec || !std::filesystem::is_directory(png_dir, ec))
      throw Error(
          fmt::format("--png: {}: cannot create the directory ({})", png_dir, ec ? ec.message() : "a file is there"));
    const auto path = [&](const char* name) { return (std::filesystem::path(png_dir) / name).string(); };
    pngs = {{path("loss.png"), svg_to_png(figs.loss, path("loss.png"))},
            {path("accuracy.png"), svg_to_png(figs.accuracy, path("accuracy.png"))},
            {path("confusion.png"), svg_to_png(figs.confusion, path("confusion.png"))},
            {path("per_class.png"), svg_to_png(figs.per_class, path("per_class.png"))},
            {path("mistakes.png"), png_grid(mistakes.images, test.height * zoom, test.width * zoom)},
            {path("weights.png"), png_grid(tiles.images, model.height * zoom, model.width * zoom)}};
    for (const auto& [file, bytes] : pngs) check_writable(file, "--png");
  }
  for (const auto& [file, bytes] : pngs) write_file_atomic(file, bytes);
  write_file_atomic(html_path, {reinterpret_cast<const std::uint8_t*>(html.data()), html.size()});
}

}  // namespace digitnet
