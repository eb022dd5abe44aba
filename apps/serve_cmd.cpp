// digitnet serve model.npz [--port 8080] [--host 127.0.0.1] [--threads N] [--max-body 4MB]
//                          [--idle-timeout 10] [--max-connections 2000]
// The drawing page and its JSON API (serve_api.hpp) on an event-driven HTTP server
// (http_server.hpp). SIGINT or SIGTERM stops it: no new connections, the requests in flight
// finish, exit 0 (a second signal ends it at once). docs/serve.md has the limits and speed.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/model.hpp"
#include "http_server.hpp"
#include "memory_budget.hpp"
#include "precision.hpp"
#include "serve_api.hpp"

namespace digitnet::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1";
  int port = 8080;
  int threads = 0;  // 0 = one per core
  std::size_t max_body = 4 << 20;
  unsigned idle_timeout = 10;
  unsigned max_connections = 2000;
  Precision precision = Precision::float32;
};

void run_serve(const ServeArgs& a) {
  // SIGINT and SIGTERM are blocked in every thread (the server's threads inherit the mask) and
  // taken here, where stopping is an ordinary call.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
#ifdef __GLIBC__
  // Bodies of megabytes are mapped from and returned to the system on their own (a fixed
  // threshold: glibc's adaptive one keeps them in the heap), so memory goes back to its
  // baseline after a burst of large requests.
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
#endif
  Model model = load_model(a.model);
  set_threads(1);  // each server thread predicts on its own core, with its own copy of the network
  const int threads = a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // What all requests together may hold: sixteen bodies of the largest size (64 MB by default),
  // and apart from them as much again for decoding images (ServeApi), so that one image of the
  // largest size the server names decodes even while bodies hold their whole budget.
  MemoryBudget budget(16 * a.max_body);
  MemoryBudget decoding(16 * a.max_body);
  ServeApi api(std::move(model), std::filesystem::path(a.model).filename().string(), decoding);
  api.quantize(a.precision);
  HttpServer server({.host = a.host,
                     .port = a.port,
                     .threads = threads,
                     .max_body = a.max_body,
                     .idle_timeout = a.idle_timeout,
                     .max_connections = a.max_connections},
                    api.routes(), budget);
  if (server.any_interface())
    fmt::print(stderr,
               "digitnet: warning: --host {}: listening on every network interface; anyone who can reach this "
               "machine can use the server (no password, no encryption)\n",
               a.host);
  else if (!server.loopback())
    fmt::print(stderr,
               "digitnet: warning: --host {}: listening on {}, which other machines can reach (no password, no "
               "encryption)\n",
               a.host, server.address());
  fmt::print("serving {} on http://{}:{}/ (Ctrl-C to stop)\n", a.model, server.address(), server.port());
  std::fflush(stdout);
  // Until a stop signal: once a second, memory that large requests left free inside the
  // allocator's heaps (between blocks still in use) goes back to the system.
  const timespec second{1, 0};
  while (sigtimedwait(&stop_signals, nullptr, &second) < 0) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }
  // While the requests in flight finish, a second Ctrl-C ends the process at once.
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  server.stop(std::chrono::seconds(a.idle_timeout));
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "A web page to draw digits on, with a JSON prediction API");
  cmd->add_option("model", a->model, "Model file (.npz)")->type_name("MODEL")->required();
  cmd->add_option("--port", a->port, "Port, 0 to 65535 (default 8080; 0 = any free port)")
      ->type_name("N")
      ->check(whole_in(0, 65535));
  cmd->add_option("--host", a->host,
                  "Address to listen on (default 127.0.0.1: this machine only; any other prints a warning)");
  cmd->add_option("--threads", a->threads,
                  "Threads answering requests, each predicting, 0 to 256 (default 0: one per core)")
      ->type_name("N")
      ->check(whole_in(0, 256));
  cmd->add_option("--max-body", a->max_body,
                  "Largest request body, e.g. 4MB or 512KB (default 4MB); larger ones get 413 as soon as they pass it")
      ->type_name("SIZE")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->check(whole_in(1 << 10, 1 << 30));
  cmd->add_option("--idle-timeout", a->idle_timeout,
                  "Seconds a connection may stay silent before it is closed, 1 to 3600 (default 10); also the "
                  "longest a stop waits for requests in flight")
      ->type_name("S")
      ->check(whole_in(1, 3600));
  cmd->add_option("--max-connections", a->max_connections,
                  "Connections held open at once, 16 to 1000000 (default 2000); more get 503 as they arrive")
      ->type_name("N")
      ->check(whole_in(16, 1000000));
  add_quantize_option(cmd, a->precision);
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace digitnet::cli
