/* Shell commands. Each takes the text after the command name (may be empty). */
#ifndef COMMANDS_H
#define COMMANDS_H

struct command {
    const char *name;
    const char *usage;
    const char *help;
    void (*run)(const char *args);
};

extern const struct command commands[];
extern const unsigned command_count;

void cmd_help(const char *args);
void cmd_version(const char *args);
void cmd_clear(const char *args);
void cmd_echo(const char *args);
void cmd_uptime(const char *args);
void cmd_mem(const char *args);
void cmd_reboot(const char *args);
void cmd_poweroff(const char *args);
void cmd_keys(const char *args);
void cmd_xlate(const char *args);
void cmd_colors(const char *args);
void cmd_mode13(const char *args);
void cmd_user(const char *args);

#define DEMO_VERSION "hv-demo 1.0"
#endif
