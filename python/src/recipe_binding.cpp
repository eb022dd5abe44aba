// The recipe from Python: its table of settings (the estimator's parameters are made from it),
// one validation, and SettingError, a ValueError that names the setting.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "digitnet/core/json.hpp"
#include "digitnet/train/presets.hpp"
#include "digitnet/train/recipe.hpp"

namespace py = pybind11;

namespace digitnet::python {
namespace {

std::string kind_name(SettingKind k) {
  switch (k) {
    case SettingKind::whole: return "whole";
    case SettingKind::seed: return "seed";
    case SettingKind::number: return "number";
    case SettingKind::choice: return "choice";
    case SettingKind::spec: return "spec";
    case SettingKind::text: return "text";
    case SettingKind::sizes: return "sizes";
    case SettingKind::numbers: return "numbers";
    case SettingKind::batch: return "batch";
  }
  return "?";
}

py::object from_json(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

}  // namespace

void bind_recipe(py::module_& m) {
  static py::exception<SettingError> setting_error(m, "SettingError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const SettingError& e) {
      // The exception's setting, item and reason, for the package to say with its parameter's name.
      py::object error = py::handle(setting_error.ptr())(e.what());
      error.attr("setting") = e.setting;
      error.attr("index") = e.index;
      error.attr("reason") = e.reason;
      PyErr_SetObject(setting_error.ptr(), error.ptr());
    }
  });
  m.def(
      "settings",
      [] {
        py::list out;
        const Recipe defaults;
        for (const Setting& s : recipe_settings()) {
          py::dict d;
          d["name"] = std::string(s.name);
          d["group"] = std::string(to_string(s.group));
          d["kind"] = kind_name(s.kind);
          d["default"] = from_json(get_setting(defaults, s));
          d["range"] = py::make_tuple(s.range.lo, s.range.hi, s.range.lo_open, s.range.hi_open);
          d["choices"] = std::vector<std::string>(s.choices.begin(), s.choices.end());
          d["help"] = std::string(s.help);
          d["shared"] = s.shared;
          d["estimator"] = s.estimator;
          out.append(d);
        }
        return out;
      },
      "The recipe's settings, in order: name, group, kind, default, range, choices, help, estimator");
  m.def(
      "check_recipe",
      [](const std::string& text) {
        const Recipe r = recipe_from_json(parse_json(text, "recipe"));
        return recipe_json(r).dump();
      },
      py::arg("recipe_json"),
      "A recipe (JSON text of settings; missing ones take their defaults), validated: the whole recipe as JSON "
      "text, or SettingError naming the first bad setting");
  m.def(
      "presets",
      [] {
        py::list out;
        for (const Preset& p : presets()) {
          py::dict d;
          d["name"] = p.name;
          d["seed"] = p.seed;
          d["summary"] = p.summary;
          d["recipe"] = from_json(recipe_json(p.recipe));
          out.append(d);
        }
        return out;
      },
      "The presets: name, seed write-up, summary, recipe");
  m.def(
      "find_preset", [](const std::string& name) { return find_preset(name).name; }, py::arg("name"),
      "The preset's name (seed000 ... are aliases); SettingError listing the names if unknown");
}

}  // namespace digitnet::python
