// What every World does the same way, and the World of one process alone.
#include <cstdio>
#include <new>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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
  // What failed, as JSON: the message, and for a setting's error its name (so that it stays a
  // SettingError on every process, and the command can say it with the flag's name).
  nlohmann::json failure;
  try {
    step();
  } catch (const std::bad_alloc&) {
    failure = {{"what", "out of memory"}};
  } catch (const SettingError& e) {
    failure = {{"what", e.what()}, {"setting", e.setting}, {"index", e.index}, {"reason", e.reason}};
  } catch (const std::exception& e) {
    failure = {{"what", e.what()}};
  } catch (...) {
    failure = {{"what", "an unknown error"}};
  }
  const std::string text = failure.is_null() ? std::string() : failure.dump();
  const std::vector<Bytes> all = gather({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  int first = -1;
  bool alike = true;  // every process failed, with the same message
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    if (all[r].empty()) {
      alike = false;
      continue;
    }
    if (first < 0) first = r;
    alike = alike && all[r] == all[first];
  }
  if (first < 0) return;
  const nlohmann::json f = nlohmann::json::parse(all[first].begin(), all[first].end());
  const std::string where = alike ? "" : name(first);
  if (f.contains("setting")) {
    const std::string reason = f["reason"].get<std::string>();
    const bool named = where.empty() || reason.find(where) != std::string::npos;  // the reason says where already
    throw SettingError(f["setting"].get<std::string>(), named ? reason : reason + " (on " + where + ")",
                       f["index"].get<int>());
  }
  const std::string message = f["what"].get<std::string>();
  throw Error(where.empty() ? message : fmt::format("{}: {}", where, message));
}

}  // namespace digitnet::dist
