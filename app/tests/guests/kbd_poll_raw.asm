; Polled echo with translation off (scancode set 2).
%define POLL
%define RAW
%include "kbd_echo.inc"
