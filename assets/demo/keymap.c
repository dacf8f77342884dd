/* Scancode knowledge, written out from the IBM PC/AT key tables (make codes per key for
 * set 1 and set 2). Set-1 codes are the driver's key codes, so set 2 is mapped onto them. */
#include "keymap.h"
#include "keyboard.h"

struct key_info {
    u8 set1, set2;
    const char *name;
};

/* One row per key: set-1 make, set-2 make, name. E0-prefixed keys use the same second
 * byte mapping, so they share rows with the base key (e.g. Up = E0 + KP8's codes). */
static const struct key_info keys[] = {
    {0x01, 0x76, "Esc"}, {0x3B, 0x05, "F1"}, {0x3C, 0x06, "F2"}, {0x3D, 0x04, "F3"},
    {0x3E, 0x0C, "F4"}, {0x3F, 0x03, "F5"}, {0x40, 0x0B, "F6"}, {0x41, 0x83, "F7"},
    {0x42, 0x0A, "F8"}, {0x43, 0x01, "F9"}, {0x44, 0x09, "F10"}, {0x57, 0x78, "F11"},
    {0x58, 0x07, "F12"}, {0x46, 0x7E, "ScrollLock"}, {0x29, 0x0E, "`"}, {0x02, 0x16, "1"},
    {0x03, 0x1E, "2"}, {0x04, 0x26, "3"}, {0x05, 0x25, "4"}, {0x06, 0x2E, "5"},
    {0x07, 0x36, "6"}, {0x08, 0x3D, "7"}, {0x09, 0x3E, "8"}, {0x0A, 0x46, "9"},
    {0x0B, 0x45, "0"}, {0x0C, 0x4E, "-"}, {0x0D, 0x55, "="}, {0x0E, 0x66, "Backspace"},
    {0x0F, 0x0D, "Tab"}, {0x10, 0x15, "Q"}, {0x11, 0x1D, "W"}, {0x12, 0x24, "E"},
    {0x13, 0x2D, "R"}, {0x14, 0x2C, "T"}, {0x15, 0x35, "Y"}, {0x16, 0x3C, "U"},
    {0x17, 0x43, "I"}, {0x18, 0x44, "O"}, {0x19, 0x4D, "P"}, {0x1A, 0x54, "["},
    {0x1B, 0x5B, "]"}, {0x2B, 0x5D, "\\"}, {0x3A, 0x58, "CapsLock"}, {0x1E, 0x1C, "A"},
    {0x1F, 0x1B, "S"}, {0x20, 0x23, "D"}, {0x21, 0x2B, "F"}, {0x22, 0x34, "G"},
    {0x23, 0x33, "H"}, {0x24, 0x3B, "J"}, {0x25, 0x42, "K"}, {0x26, 0x4B, "L"},
    {0x27, 0x4C, ";"}, {0x28, 0x52, "'"}, {0x1C, 0x5A, "Enter"}, {0x2A, 0x12, "LShift"},
    {0x2C, 0x1A, "Z"}, {0x2D, 0x22, "X"}, {0x2E, 0x21, "C"}, {0x2F, 0x2A, "V"},
    {0x30, 0x32, "B"}, {0x31, 0x31, "N"}, {0x32, 0x3A, "M"}, {0x33, 0x41, ","},
    {0x34, 0x49, "."}, {0x35, 0x4A, "/"}, {0x36, 0x59, "RShift"}, {0x1D, 0x14, "LCtrl"},
    {0x38, 0x11, "LAlt"}, {0x39, 0x29, "Space"}, {0x45, 0x77, "NumLock"}, {0x37, 0x7C, "KP*"},
    {0x4A, 0x7B, "KP-"}, {0x47, 0x6C, "KP7"}, {0x48, 0x75, "KP8"}, {0x49, 0x7D, "KP9"},
    {0x4E, 0x79, "KP+"}, {0x4B, 0x6B, "KP4"}, {0x4C, 0x73, "KP5"}, {0x4D, 0x74, "KP6"},
    {0x4F, 0x69, "KP1"}, {0x50, 0x72, "KP2"}, {0x51, 0x7A, "KP3"}, {0x52, 0x70, "KP0"},
    {0x53, 0x71, "KP."}, {0x56, 0x61, "102nd"}, {0x54, 0x84, "SysRq"},
    /* codes that only occur after E0 */
    {0x5B, 0x1F, "LWin"}, {0x5C, 0x27, "RWin"}, {0x5D, 0x2F, "Menu"},
};

/* Names of E0-prefixed keys, by set-1 second byte. */
static const struct {
    u8 set1;
    const char *name;
} ext_names[] = {
    {0x1C, "KP-Enter"}, {0x1D, "RCtrl"}, {0x35, "KP/"}, {0x37, "PrintScreen"},
    {0x38, "RAlt"}, {0x46, "Break"}, {0x47, "Home"}, {0x48, "Up"}, {0x49, "PageUp"},
    {0x4B, "Left"}, {0x4D, "Right"}, {0x4F, "End"}, {0x50, "Down"}, {0x51, "PageDown"},
    {0x52, "Insert"}, {0x53, "Delete"}, {0x5B, "LWin"}, {0x5C, "RWin"}, {0x5D, "Menu"},
    {0x2A, "(PrtSc fake LShift)"}, {0x36, "(fake RShift)"},
};

static u8 set2_to_set1[256];
static const char *base_names[128];

void keymap_init(void)
{
    for (u32 i = 0; i < ARRAY_LEN(keys); i++) {
        set2_to_set1[keys[i].set2] = keys[i].set1;
        if (!base_names[keys[i].set1])
            base_names[keys[i].set1] = keys[i].name;
    }
}

u8 keymap_set2_to_set1(u8 set2) { return set2_to_set1[set2]; }

const char *keymap_name(u16 code)
{
    if (code == KEY_PAUSE)
        return "Pause";
    if (code & KEY_EXT) {
        for (u32 i = 0; i < ARRAY_LEN(ext_names); i++)
            if (ext_names[i].set1 == (code & 0x7F))
                return ext_names[i].name;
        return "(unknown E0 key)";
    }
    if (code < 128 && base_names[code])
        return base_names[code];
    return "(unknown)";
}

/* US layout, set-1 codes 0x00-0x39. */
static const char plain[0x3A] = "\0\0331234567890-=\b\tqwertyuiop[]\n\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
static const char shifted[0x3A] = "\0\033!@#$%^&*()_+\b\tQWERTYUIOP{}\n\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

char keymap_char(u8 set1, int shift)
{
    if (set1 >= sizeof plain)
        return 0;
    return shift ? shifted[set1] : plain[set1];
}
