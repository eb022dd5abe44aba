#include "recipe_flags.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

namespace digitnet::cli {

std::string flag_of(std::string_view setting) {
  std::string flag = "--" + std::string(setting);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string flag_message(const SettingError& e) {
  const std::string what = e.what();
  std::string out = flag_of(e.setting);
  // the rest, with each `setting` it names as its flag
  const std::string rest = what.substr(std::min(what.size(), e.setting.size()));
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const std::size_t close = rest[i] == '`' ? rest.find('`', i + 1) : std::string::npos;
    if (close != std::string::npos && lookup_setting(rest.substr(i + 1, close - i - 1))) {
      out += flag_of(rest.substr(i + 1, close - i - 1));
      i = close;
    } else {
      out += rest[i];
    }
  }
  return out;
}

std::string group_heading(SettingGroup group) {
  switch (group) {
    case SettingGroup::model: return "Model";
    case SettingGroup::optimizer: return "Optimizer";
    case SettingGroup::regularization: return "Regularization";
    case SettingGroup::data: return "Data";
    case SettingGroup::run: return "Run";
  }
  return "Options";
}

namespace {

// What --help shows as the value's form.
std::string value_form(const Setting& s) {
  switch (s.kind) {
    case SettingKind::whole: return "N";
    case SettingKind::seed: return "SEED";
    case SettingKind::number: return "X";
    case SettingKind::choice: return "WORD";
    case SettingKind::spec: return "SPEC";
    case SettingKind::text: return "NAME|PATH";
    case SettingKind::sizes: return "N,N,...";
    case SettingKind::numbers: return "P[,P...]";
    case SettingKind::batch: return "N|full";
  }
  return "VALUE";
}

std::string help_of(const Setting& s, const Recipe& defaults) {
  std::string help(s.help);
  if (s.kind == SettingKind::choice || s.kind == SettingKind::spec)
    help += fmt::format("; one of {}", fmt::join(s.choices, ", "));
  else if (s.kind == SettingKind::number || s.kind == SettingKind::whole)
    help += fmt::format("; in {}", s.range.to_string());
  const std::string d = setting_text(defaults, s);
  help += d.empty() ? " (no default)" : fmt::format(" (default: {})", d);
  return help;
}

}  // namespace

RecipeFlags::RecipeFlags(CLI::App& cmd, const std::vector<std::string_view>& names, const Recipe& defaults) {
  for (const Setting& s : recipe_settings()) {
    if (!names.empty() && std::find(names.begin(), names.end(), s.name) == names.end()) continue;
    // Each occurrence takes one value; all are kept, so that a flag given twice is caught.
    cmd.add_option(flag_of(s.name), values_[std::string(s.name)], help_of(s, defaults))
        ->type_name(value_form(s))
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->allow_extra_args(false)
        ->group(group_heading(s.group));
  }
}

bool RecipeFlags::given(std::string_view setting) const {
  const auto it = values_.find(setting);
  return it != values_.end() && !it->second.empty();
}

std::vector<std::string> RecipeFlags::given_names() const {
  std::vector<std::string> names;
  for (const auto& [name, values] : values_)
    if (!values.empty()) names.push_back(name);
  return names;
}

Recipe RecipeFlags::apply(Recipe r) const {
  for (const Setting& s : recipe_settings()) {
    const auto it = values_.find(s.name);
    if (it == values_.end() || it->second.empty()) continue;
    const auto& v = it->second;
    if (v.size() > 1)
      throw SettingError(std::string(s.name),
                         fmt::format("given {} times ({}); give it once", v.size(), fmt::join(v, ", ")));
    if (v[0].empty()) throw SettingError(std::string(s.name), "the value is empty");
    set_setting(r, s, std::string_view(v[0]));
  }
  return r;
}

int threads_to_use(int asked) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (asked <= cores) return asked;
  std::fflush(stdout);
  fmt::print(stderr,
             "digitnet: warning: --threads {} is more than the {} cores here; using {} (more threads than cores "
             "only wait for each other)\n",
             asked, cores, cores);
  return cores;
}

}  // namespace digitnet::cli
