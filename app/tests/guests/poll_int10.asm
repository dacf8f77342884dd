; Writes a '.' with int 10h AH=0Eh (teletype) per iteration until 55 ticks have passed;
; see poll_ticks.inc.
%macro POLL_CALL 0
    mov ax, 0x0e2e
    push bx
    xor bx, bx
    int 0x10
    pop bx
%endmacro
%include "poll_ticks.inc"
