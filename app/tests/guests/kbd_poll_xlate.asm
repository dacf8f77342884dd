; Polled echo with translation on (scancode set 1).
%define POLL
%include "kbd_echo.inc"
