; IRQ1-driven echo with i8042 translation on (scancode set 1).
%include "kbd_echo.inc"
