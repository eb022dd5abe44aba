#include "digitnet/train/schedule.hpp"

#include <charconv>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

Schedule parse_schedule(std::string_view text) {
  const auto bad = [&] {
    return SettingError("schedule",
                        fmt::format("'{}' is not one of constant, step:EPOCHS:GAMMA, cosine or onecycle", text));
  };
  Schedule s;
  if (text == "constant") return s;
  if (text == "cosine") return s.kind = Schedule::cosine, s;
  if (text == "onecycle") return s.kind = Schedule::onecycle, s;
  if (!text.starts_with("step:")) throw bad();
  const std::string_view rest = text.substr(5);
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) throw bad();
  const auto number = [&](std::string_view v, double& out, double hi) {
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && end == v.data() + v.size() && out > 0 && out <= hi;
  };
  s.kind = Schedule::step;
  if (!number(rest.substr(0, colon), s.step_epochs, 1e6))
    throw SettingError("schedule", fmt::format("'{}': EPOCHS must be a number in (0, 1000000]", text));
  if (!number(rest.substr(colon + 1), s.gamma, 1))
    throw SettingError("schedule", fmt::format("'{}': GAMMA must be a number in (0, 1]", text));
  return s;
}

std::string to_string(const Schedule& s) {
  switch (s.kind) {
    case Schedule::constant: return "constant";
    case Schedule::step: return fmt::format("step:{}:{}", s.step_epochs, s.gamma);
    case Schedule::cosine: return "cosine";
    case Schedule::onecycle: return "onecycle";
  }
  return "?";
}

double scheduled_lr(const Schedule& s, double base, double t, int total_epochs) {
  const double T = std::max(1, total_epochs);
  const double pi = std::numbers::pi;
  double lr = base;
  switch (s.kind) {
    case Schedule::constant: break;
    case Schedule::step: lr = base * std::pow(s.gamma, std::floor(t / s.step_epochs)); break;
    case Schedule::cosine: lr = base * 0.5 * (1 + std::cos(pi * std::min(t, T) / T)); break;
    case Schedule::onecycle: {
      const double up = 0.3 * T, start = base / 25, end = start / 1e4;
      if (t < up) {
        lr = start + (base - start) * 0.5 * (1 - std::cos(pi * t / up));
      } else {
        lr = end + (base - end) * 0.5 * (1 + std::cos(pi * std::min(1.0, (t - up) / (T - up))));
      }
      break;
    }
  }
  if (s.warmup_epochs > 0 && t < s.warmup_epochs) lr *= t / s.warmup_epochs;
  return lr;
}

}  // namespace digitnet
