// digitnet serve model.npz [--port 8080] [--host 127.0.0.1]
// A page to draw a digit on, and the JSON API behind it:
//   POST /api/predict  {"pixels": [...]}   the model's input size of values in 0..1, row-major,
//                                          light digit on dark (used as is)
//                      or a PNG body (Content-Type: image/png), prepared like `predict`
//   -> {"label": L, "probabilities": [...], "input": [...], "input_shape": [h, w]}
//   GET /api/model     layers, input shape, dataset
// Bad requests get a 4xx status and {"error": "..."}.
#include <csignal>
#include <filesystem>
#include <memory>
#include <mutex>

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/image.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/train/metrics.hpp"

namespace digitnet::cli {
namespace {

constexpr char kPage[] = {
#include "index_html.inc"
};
constexpr std::size_t kMaxBody = 4 << 20;  // larger requests get 413

struct ServeArgs {
  std::string model, host = "127.0.0.1";
  int port = 8080;
};

httplib::Server* running = nullptr;
void stop_server(int) {
  if (running) running->stop();
}

void json_reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void run_serve(const ServeArgs& a) {
  Model model = load_model(a.model);
  std::mutex model_mutex;  // one inference at a time: the network's buffers are shared
  const int F = model.net.arch().inputs();
  httplib::Server server;
  server.set_payload_max_length(kMaxBody);
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kPage, sizeof kPage - 1, "text/html; charset=utf-8");
  });
  server.Get("/api/model", [&](const httplib::Request&, httplib::Response& res) {
    json_reply(res, 200,
               {{"name", std::filesystem::path(a.model).filename().string()},
                {"layers", model.net.arch().sizes},
                {"input_shape", {model.height, model.width}},
                {"dataset", model.config.value("dataset", "?")}});
  });
  server.Post("/api/predict", [&](const httplib::Request& req, httplib::Response& res) {
    std::vector<float> x01;
    const std::string type = req.get_header_value("Content-Type");
    try {
      if (type.starts_with("image/")) {
        const GrayImage img =
            decode_image({reinterpret_cast<const std::uint8_t*>(req.body.data()), req.body.size()}, "request body");
        x01 = preprocess_for_input(img, model.height, model.width, "request body");
      } else if (type.starts_with("application/json")) {
        const auto j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) return json_reply(res, 400, {{"error", "the body is not valid JSON"}});
        if (!j.is_object() || !j.contains("pixels") || !j["pixels"].is_array())
          return json_reply(res, 400, {{"error", "expected {\"pixels\": [...]}"}});
        if (j["pixels"].size() != static_cast<std::size_t>(F))
          return json_reply(res, 400,
                            {{"error", fmt::format("pixels has {} values; this model takes {} ({}x{})",
                                                   j["pixels"].size(), F, model.height, model.width)}});
        for (const auto& v : j["pixels"]) {
          if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1))
            return json_reply(res, 400, {{"error", "pixels must be numbers in 0..1"}});
          x01.push_back(v.get<float>());
        }
      } else {
        return json_reply(res, 415, {{"error", "send application/json {\"pixels\": [...]} or an image/png body"}});
      }
    } catch (const Error& e) {
      return json_reply(res, 400, {{"error", e.what()}});
    }
    std::vector<float> probs;
    {
      std::lock_guard lock(model_mutex);
      probs = predict_one(model, x01);
    }
    json_reply(res, 200,
               {{"label", argmax(probs)},
                {"probabilities", probs},
                {"input", x01},
                {"input_shape", {model.height, model.width}}});
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;  // the handler's own {"error": ...}
    const char* why = res.status == 413 ? "request body too large" : res.status == 404 ? "not found" : "bad request";
    res.set_content(nlohmann::json{{"error", why}}.dump(), "application/json");
  });
  // The library listens with a queue of 5 connections; a burst of clients overflows that, so
  // keep the listening socket and widen its queue once it listens.
  int listening = -1;
  server.set_socket_options([&](socket_t sock) {
    listening = sock;
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // --port 0 takes any free port (tests use it); the line below says which.
  const int port = a.port == 0 ? server.bind_to_any_port(a.host) : (server.bind_to_port(a.host, a.port) ? a.port : -1);
  if (port <= 0)
    throw Error(
        fmt::format("--port: cannot listen on {}:{} (in use, or not an address of this machine)", a.host, a.port));
  if (listening >= 0) ::listen(listening, SOMAXCONN);
  running = &server;
  std::signal(SIGINT, stop_server);
  std::signal(SIGTERM, stop_server);
  fmt::print("serving {} on http://{}:{}/ (Ctrl-C to stop)\n", a.model, a.host, port);
  std::fflush(stdout);
  server.listen_after_bind();
  running = nullptr;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "A web page to draw digits on, with a JSON prediction API");
  cmd->add_option("model", a->model, "Model file (.npz)")->required();
  cmd->add_option("--port", a->port, "Port (default 8080; 0 = any free port)")->check(CLI::Range(0, 65535));
  cmd->add_option("--host", a->host, "Address to listen on (default 127.0.0.1)");
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace digitnet::cli
