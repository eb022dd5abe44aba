#pragma once
// What `digitnet serve` answers, apart from how HTTP carries it:
//   GET  /             the drawing page (apps/web/index.html, compiled in)
//   GET  /api/model    {"name", "layers", "input_shape", "dataset"}
//   POST /api/predict  {"pixels": [...]}: the model's input size of values in 0..1, row-major,
//                      light digit on dark (used as is); or an image body (Content-Type:
//                      image/png), prepared like `predict`
//                      -> {"label", "probabilities", "input", "input_shape"}
// Anything else, and every bad request, gets a 4xx status and {"error": "..."}.
// Each server thread predicts with its own copy of the network, so all of them predict at once;
// the copies hold the same weights, so every answer is what one shared model would give.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "digitnet/data/model.hpp"
#include "digitnet/train/quantize.hpp"
#include "http_server.hpp"
#include "memory_budget.hpp"

namespace digitnet::cli {

class ServeApi {
 public:
  // `budget` pays for decoding images (their pixels take far more than their bytes), by the pixel
  // count in their header: an image larger than all of it is refused (413), one that does not fit
  // what other requests hold now is asked to try again (503).
  ServeApi(Model model, std::string name, MemoryBudget& budget);
  // Predictions in int8 (--quantize int8): each thread a copy of one quantized network.
  void quantize(Precision precision);

  // The answer known from the headers alone (page, model info, errors); nothing for a predict
  // request whose body is to be read.
  std::optional<HttpReply> on_headers(const HttpRequest& request) const;
  HttpReply on_request(const HttpRequest& request);

  HttpRoutes routes() {
    return {[this](const HttpRequest& r) { return on_headers(r); },
            [this](const HttpRequest& r) { return on_request(r); }};
  }

 private:
  HttpReply predict(const HttpRequest& request);
  Model& model_of_this_thread();

  const Model model_;
  const std::string name_;
  MemoryBudget& budget_;
  const std::uint64_t id_;  // tells this object's copies in a thread from another's
  std::mutex copies_mutex_;
  std::vector<std::unique_ptr<Model>> copies_;  // one per thread that has predicted
  std::optional<QuantizedNetwork> int8_;
  std::vector<std::unique_ptr<QuantizedNetwork>> int8_copies_;
  QuantizedNetwork& int8_of_this_thread();
};

}  // namespace digitnet::cli
