// What every World does the same way, and the World of one process alone.
#include <cstdio>
#include <new>

#include <fmt/format.h>

#include "dist/start.hpp"

namespace digitnet::dist {
namespace {

class SoloWorld final : public World {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(std::span<float>) override {}
  void sum(std::span<double>) override {}
  void max(std::span<int>) override {}
  std::vector<Bytes> gather(std::span<const std::uint8_t> mine) override { return {Bytes(mine.begin(), mine.end())}; }
  void broadcast(Bytes&) override {}
  void send(int, std::span<const std::uint8_t>) override { throw Error("no other process to send to"); }
  std::pair<int, Bytes> receive() override { throw Error("no other process to receive from"); }
  std::optional<std::pair<int, Bytes>> poll() override { return std::nullopt; }
  int finish(int status, const std::string& error) override {
    if (!error.empty()) {
      std::fflush(stdout);
      fmt::print(stderr, "{}\n", error);
    }
    return status;
  }

 protected:
  std::string host(int) const override { return "this machine"; }
};

World* current = nullptr;

}  // namespace

World& solo_world() {
  static SoloWorld solo;
  return solo;
}

void set_world(World& world) { current = &world; }

World& World::get() { return current ? *current : solo_world(); }

std::string World::name(int r) const { return fmt::format("rank {} ({})", r, host(r)); }

void World::agree(const std::function<void()>& step) {
  if (size() == 1) return step();
  std::string failure;
  bool failed = true;
  try {
    step();
    failed = false;
  } catch (const std::bad_alloc&) {
    failure = "out of memory";
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "an unknown error";
  }
  Bytes mine{static_cast<std::uint8_t>(failed)};
  mine.insert(mine.end(), failure.begin(), failure.end());
  const std::vector<Bytes> all = gather(mine);
  int first = -1;
  bool alike = true;  // every process failed, with the same message
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    const Bytes& b = all[r];
    if (b.empty() || b[0] == 0) {
      alike = false;
      continue;
    }
    if (first < 0) first = r;
    alike = alike && b == all[first];
  }
  if (first < 0) return;
  const std::string message(all[first].begin() + 1, all[first].end());
  throw Error(alike ? message : fmt::format("{}: {}", name(first), message));
}

}  // namespace digitnet::dist
