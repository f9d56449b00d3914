/* SPDX-License-Identifier: MIT */
/* Subcommands of the bpfdiff CLI: each takes the argv after its own name
 * (argv[0] is the subcommand) and returns the process exit code:
 * 0 ok, 1 failures/discrepancies, 2 usage or input error. */
#ifndef BPFDIFF_CLI_H
#define BPFDIFF_CLI_H

int bd_cmd_run(int argc, char **argv);      /* main.c */
int bd_cmd_replay(int argc, char **argv);   /* main.c */
int bd_cmd_asm(int argc, char **argv);      /* main.c */
int bd_cmd_disasm(int argc, char **argv);   /* main.c */
int bd_cmd_coverage(int argc, char **argv); /* coverage.c */
int bd_cmd_info(int argc, char **argv);     /* main.c */
int bd_cmd_plugin(int argc, char **argv);   /* plugin.c: the bpf_conformance plugin contract */
int bd_cmd_minimize(int argc, char **argv); /* minimize.c */

#endif
