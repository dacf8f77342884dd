; Polls int 1Ah AH=00h (read tick count) until 55 ticks have passed; see poll_ticks.inc.
%macro POLL_CALL 0
    mov ah, 0x00
    int 0x1a
%endmacro
%include "poll_ticks.inc"
