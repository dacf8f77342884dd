; Polls int 16h AH=01h (keystroke status) until 55 ticks have passed; see poll_ticks.inc.
%macro POLL_CALL 0
    mov ah, 0x01
    int 0x16
%endmacro
%include "poll_ticks.inc"
