/* The interactive shell: prompt, line editor with history, command dispatch. */
#ifndef SHELL_H
#define SHELL_H
void shell_run(void) __attribute__((noreturn));
#endif
