// The halio command-line tool. The library never prints; this does.
#include <CLI/CLI.hpp>

#include <iostream>

#include "halio_config.h"
#include "src/tools/probe.h"

int main(int argc, char** argv) {
  CLI::App app{"halio: move bytes between files and accelerator buffers, fast"};
  app.set_version_flag("--version", HALIO_VERSION);
  app.require_subcommand(1);

  halio::tools::ProbeOptions probe;
  CLI::App* probe_cmd =
      app.add_subcommand("probe", "Show the OS, kernel and which I/O backends are usable");
  probe_cmd->add_flag("--json", probe.json, "Print one JSON object");
  probe_cmd
      ->add_option("--path", probe.path,
                   "Report direct-I/O support of files in this directory (default: the temp "
                   "directory)")
      ->check(CLI::ExistingDirectory);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "halio: " << e.what() << " (run 'halio --help')\n";
    return 2;
  }
  if (probe_cmd->parsed()) return halio::tools::RunProbe(probe, std::cout);
  return 0;
}
