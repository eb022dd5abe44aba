#include "serve_api.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/error.hpp"
#include "digitnet/data/image.hpp"
#include "digitnet/train/metrics.hpp"
#include "pixels_json.hpp"

namespace digitnet::cli {
namespace {

constexpr char kPage[] = {
#include "index_html.inc"
};

// Decoding and preparing an image holds about this many bytes per pixel at its peak (8-bit
// channels, then float gray, alpha, the light-on-dark copy and the crop).
constexpr std::size_t kDecodeBytesPerPixel = 16;

std::atomic<std::uint64_t> next_api_id{1};

HttpReply not_allowed(const char* allow) {
  HttpReply r = json_error(405, fmt::format("method not allowed here (use {})", allow));
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

ServeApi::ServeApi(Model model, std::string name, MemoryBudget& budget)
    : model_(std::move(model)), name_(std::move(name)), budget_(budget), id_(next_api_id++) {}

std::optional<HttpReply> ServeApi::on_headers(const HttpRequest& r) const {
  const bool get = r.method == "GET" || r.method == "HEAD";
  if (r.path == "/") {
    if (!get) return not_allowed("GET, HEAD");
    return HttpReply{200, "text/html; charset=utf-8", std::string(kPage, sizeof kPage - 1)};
  }
  if (r.path == "/api/model") {
    if (!get) return not_allowed("GET, HEAD");
    return HttpReply{200, "application/json",
                     nlohmann::json{{"name", name_},
                                    {"layers", model_.net.arch().sizes},
                                    {"input_shape", {model_.height, model_.width}},
                                    {"dataset", model_.config.value("dataset", "?")}}
                         .dump()};
  }
  if (r.path == "/api/predict") {
    if (r.method != "POST") return not_allowed("POST");
    const std::string type = lower(r.content_type);
    if (!type.starts_with("image/") && !type.starts_with("application/json"))
      return json_error(415, "send application/json {\"pixels\": [...]} or an image/png body");
    return std::nullopt;  // read the body
  }
  return json_error(404, "not found");
}

HttpReply ServeApi::on_request(const HttpRequest& r) {
  try {
    return predict(r);
  } catch (const Error& e) {
    return json_error(400, e.what());
  }
}

HttpReply ServeApi::predict(const HttpRequest& r) {
  Model& model = model_of_this_thread();
  const int F = model.net.arch().inputs();
  std::vector<float> x01, probs;
  std::string how = "as is";
  if (lower(r.content_type).starts_with("image/")) {
    const std::span bytes(reinterpret_cast<const std::uint8_t*>(r.body.data()), r.body.size());
    // The header says how many pixels decoding will hold: pay for them first.
    BudgetShare decoding(budget_);
    if (const auto size = image_size(bytes); size && size->width > 0 && size->height > 0) {
      const int w = size->width, h = size->height;
      const std::size_t cost = std::size_t(w) * std::size_t(h) * kDecodeBytesPerPixel;
      if (cost > budget_.limit())
        return json_error(413, fmt::format("image too large: {}x{}; this server decodes up to {} pixels", w, h,
                                           budget_.limit() / kDecodeBytesPerPixel));
      if (!decoding.grow(cost)) {
        HttpReply busy = json_error(503, "the server is decoding as many images as it may; try again");
        busy.headers.emplace_back("Retry-After", "1");
        return busy;
      }
    }
    // as predict and eval: pixel for pixel at the model's geometry, else by its dataset's convention
    const ModelInput in = prepare_input(decode_image(bytes, "request body"), model.input, "request body");
    for (int f = 0; f < in.example.features(); ++f)
      x01.push_back((in.example.has_floats() ? in.example.floats(0)[f] : float(in.example.image(0)[f])) /
                    in.example.pixel_max);
    if (int8_) {
      const Predictions p = predict_dataset(int8_of_this_thread(), in.example);
      probs.assign(p.probs.storage.begin(), p.probs.storage.end());
    } else {
      probs = predict_input(model, in);
    }
    how = in.how;
  } else {
    PixelsJson p = read_pixels_json(r.body, F, model.height, model.width);
    if (!p.error.empty()) return json_error(400, p.error);
    x01 = std::move(p.pixels);
    probs = int8_ ? predict_one(int8_of_this_thread(), x01) : predict_one(model, x01);
  }
  const int label = argmax(probs);
  return {200, "application/json",
          nlohmann::json{{"label", label},
                         {"confidence", probs[label]},
                         {"probabilities", probs},
                         {"input", x01},
                         {"input_shape", {model.height, model.width}},
                         {"prepared", how}}
              .dump()};
}

void ServeApi::quantize(Precision precision) {
  if (precision == Precision::int8) int8_.emplace(model_.net, model_.norm);
}

QuantizedNetwork& ServeApi::int8_of_this_thread() {
  thread_local std::uint64_t owner = 0;
  thread_local QuantizedNetwork* mine = nullptr;
  if (owner != id_ || !mine) {
    std::lock_guard lock(copies_mutex_);
    int8_copies_.push_back(std::make_unique<QuantizedNetwork>(*int8_));
    mine = int8_copies_.back().get();
    owner = id_;
  }
  return *mine;
}

Model& ServeApi::model_of_this_thread() {
  thread_local std::uint64_t owner = 0;
  thread_local Model* mine = nullptr;
  if (owner != id_ || !mine) {
    std::lock_guard lock(copies_mutex_);
    copies_.push_back(std::make_unique<Model>(model_));
    mine = copies_.back().get();
    owner = id_;
  }
  return *mine;
}

}  // namespace digitnet::cli
