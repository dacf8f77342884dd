; Heavy port I/O (in al, 0x61 in a loop) while the guest's own IRQ0 handler counts the
; ticks, until 55 have passed; see poll_ticks.inc.
%define OWN_IRQ0
%macro POLL_CALL 0
    in al, 0x61
%endmacro
%include "poll_ticks.inc"
