; IRQ1-driven echo with translation off (scancode set 2).
%define RAW
%include "kbd_echo.inc"
