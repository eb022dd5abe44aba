// The datasets digitnet fetches by name, from the installed digitnet::fetch.
#include <cstdio>

#include "digitnet/fetch/catalog.hpp"

int main() {
  for (const auto& d : digitnet::known_datasets()) std::printf("%s: %s\n", d.name.c_str(), d.examples.c_str());
  return digitnet::known_datasets().empty() ? 1 : 0;
}
