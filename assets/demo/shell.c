/* Line editor: the line lives on the prompt's screen row and is redrawn in place, so
 * editing in the middle (left/right, backspace, delete) and history recall stay simple.
 * Serial gets the finished line only, which keeps the COM1 log readable. */
#include "shell.h"
#include "commands.h"
#include "console.h"
#include "keyboard.h"
#include "lib.h"
#include "serial.h"

#define PROMPT "hv-demo> "
#define PROMPT_ATTR 0x0A
#define LINE_ATTR 0x0F
#define LINE_MAX 70
#define HISTORY_SIZE 16

static char history[HISTORY_SIZE][LINE_MAX + 1];
static int history_count; /* total lines ever stored; newest at (count-1) % SIZE */

struct line_editor {
    char buf[LINE_MAX + 1];
    int len, pos;
    int row, col0; /* screen position of buf[0] */
};

static void redraw(const struct line_editor *ed)
{
    for (int i = 0; i < LINE_MAX; i++)
        console_put_at(ed->row, ed->col0 + i, i < ed->len ? ed->buf[i] : ' ', LINE_ATTR);
    console_set_pos(ed->row, ed->col0 + ed->pos);
}

static void set_text(struct line_editor *ed, const char *s)
{
    ed->len = 0;
    while (s[ed->len] && ed->len < LINE_MAX) {
        ed->buf[ed->len] = s[ed->len];
        ed->len++;
    }
    ed->buf[ed->len] = 0;
    ed->pos = ed->len;
}

static void history_add(const char *line)
{
    if (!line[0])
        return;
    if (history_count && !strcmp(history[(history_count - 1) % HISTORY_SIZE], line))
        return; /* don't store immediate repeats */
    char *slot = history[history_count % HISTORY_SIZE];
    u32 n = strlen(line);
    memcpy(slot, line, n + 1);
    history_count++;
}

static void read_line(char *out)
{
    struct line_editor ed;
    int browse = history_count; /* == history_count: editing a fresh line */
    int oldest = history_count > HISTORY_SIZE ? history_count - HISTORY_SIZE : 0;

    console_set_attr(PROMPT_ATTR);
    console_puts(PROMPT);
    console_set_attr(ATTR_DEFAULT);
    console_get_pos(&ed.row, &ed.col0);
    set_text(&ed, "");

    for (;;) {
        int c = keyboard_getchar();
        switch (c) {
        case '\n':
            memcpy(out, ed.buf, (u32)ed.len + 1);
            console_set_pos(ed.row, ed.col0 + ed.len);
            serial_puts(ed.buf);
            console_putc('\n');
            return;
        case '\b':
            if (ed.pos > 0) {
                memmove(ed.buf + ed.pos - 1, ed.buf + ed.pos, (u32)(ed.len - ed.pos + 1));
                ed.pos--;
                ed.len--;
            }
            break;
        case CH_DELETE:
            if (ed.pos < ed.len) {
                memmove(ed.buf + ed.pos, ed.buf + ed.pos + 1, (u32)(ed.len - ed.pos));
                ed.len--;
            }
            break;
        case CH_LEFT:
            if (ed.pos > 0)
                ed.pos--;
            break;
        case CH_RIGHT:
            if (ed.pos < ed.len)
                ed.pos++;
            break;
        case CH_HOME:
            ed.pos = 0;
            break;
        case CH_END:
            ed.pos = ed.len;
            break;
        case CH_UP:
            if (browse > oldest) {
                browse--;
                set_text(&ed, history[browse % HISTORY_SIZE]);
            }
            break;
        case CH_DOWN:
            if (browse < history_count) {
                browse++;
                set_text(&ed, browse == history_count ? "" : history[browse % HISTORY_SIZE]);
            }
            break;
        case 0x03: /* Ctrl+C: abandon the line */
            set_text(&ed, "");
            break;
        default:
            if (c >= 0x20 && c < 0x7F && ed.len < LINE_MAX) {
                memmove(ed.buf + ed.pos + 1, ed.buf + ed.pos, (u32)(ed.len - ed.pos + 1));
                ed.buf[ed.pos++] = (char)c;
                ed.len++;
            }
        }
        redraw(&ed);
    }
}

static void execute(char *line)
{
    while (*line == ' ')
        line++;
    char *args = line;
    while (*args && *args != ' ')
        args++;
    if (*args)
        *args++ = 0;
    while (*args == ' ')
        args++;
    if (!*line)
        return;
    for (unsigned i = 0; i < command_count; i++) {
        if (!strcmp(line, commands[i].name)) {
            commands[i].run(args);
            return;
        }
    }
    kprintf("unknown command '%s' (try 'help')\n", line);
}

void shell_run(void)
{
    char line[LINE_MAX + 1];
    serial_puts("hv-demo: ready\n");
    for (;;) {
        read_line(line);
        history_add(line);
        execute(line);
    }
}
