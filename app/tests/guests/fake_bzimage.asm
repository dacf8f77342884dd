; A fake Linux bzImage: a valid setup header (boot protocol 2.15, XLF_KERNEL_64, one
; setup sector) and a tiny 64-bit payload at the 64-bit entry point (+0x200). The
; payload checks what the loader handed it (RSI = boot_params with "HdrS", loader type
; 0xFF, VGA screen_info, the E820 map, the command line, the initrd), writes its
; findings to VGA text memory and COM1, and exits through the debug-exit port.
bits 16
org 0
  times 0x1f1-($-$$) db 0
  db 1                    ; 0x1f1 setup_sects
  dw 0                    ; 0x1f2 root_flags
  dd 0                    ; 0x1f4 syssize
  dw 0                    ; 0x1f8 ram_size
  dw 0xffff               ; 0x1fa vid_mode
  dw 0                    ; 0x1fc root_dev
  dw 0xaa55               ; 0x1fe boot_flag
  dw 0                    ; 0x200 jump
  db "HdrS"               ; 0x202 header
  dw 0x020f               ; 0x206 version
  dd 0                    ; 0x208 realmode_swtch
  dw 0                    ; 0x20c start_sys_seg
  dw 0                    ; 0x20e kernel_version
  db 0                    ; 0x210 type_of_loader
  db 1                    ; 0x211 loadflags: LOADED_HIGH
  dw 0                    ; 0x212 setup_move_size
  dd 0x100000             ; 0x214 code32_start
  dd 0                    ; 0x218 ramdisk_image
  dd 0                    ; 0x21c ramdisk_size
  dd 0                    ; 0x220 bootsect_kludge
  dw 0                    ; 0x224 heap_end_ptr
  db 0, 0                 ; 0x226 ext_loader_ver, ext_loader_type
  dd 0                    ; 0x228 cmd_line_ptr
  dd 0x7fffffff           ; 0x22c initrd_addr_max
  dd 0x200000             ; 0x230 kernel_alignment
  db 0, 0                 ; 0x234 relocatable_kernel, min_alignment
  dw 1                    ; 0x236 xloadflags: XLF_KERNEL_64
  dd 255                  ; 0x238 cmdline_size
  times 0x260-($-$$) db 0
  dd 0x10000              ; 0x260 init_size
  times 1024-($-$$) db 0

; ---- protected-mode kernel, loaded at 0x100000.
bits 64
pm_start:
  times 0x200 db 0xf4     ; the 32-bit entry (unused here): hlt
entry64:
  mov rbp, rsi            ; boot_params
  mov rdi, 0xb8000
  lea rbx, [rel msg_entered]
  call print
  cmp dword [rbp + 0x202], 'HdrS'
  jne fail
  cmp byte [rbp + 0x210], 0xff      ; type_of_loader
  jne fail
  cmp byte [rbp + 0x06], 3          ; orig_video_mode
  jne fail
  cmp byte [rbp + 0x07], 80         ; orig_video_cols
  jne fail
  cmp byte [rbp + 0x0f], 1          ; orig_video_isVGA
  jne fail
  cmp byte [rbp + 0x1e8], 4         ; e820_entries
  jne fail
  cmp qword [rbp + 0x2d0 + 3*20], 0x100000  ; fourth entry starts at 1 MiB
  jne fail
  lea rbx, [rel msg_params]
  call print
  mov ebx, [rbp + 0x228]            ; the command line
  call print
  mov ebx, [rbp + 0x218]            ; the initrd's first bytes
  test ebx, ebx
  jz fail
  call print
  lea rbx, [rel msg_done]
  call print
  mov al, 0x10
  out 0xf4, al
  hlt
fail:
  lea rbx, [rel msg_fail]
  call print
  mov al, 0x01
  out 0xf4, al
  hlt

; Prints the NUL-terminated string at RBX to VGA (at RDI, advanced) and COM1, then a space.
print:
  mov al, [rbx]
  test al, al
  jz .done
  mov ah, 0x07
  mov [rdi], ax
  add rdi, 2
  mov dx, 0x3f8
  out dx, al
  inc rbx
  jmp print
.done:
  mov word [rdi], 0x0720
  add rdi, 2
  ret

msg_entered: db "BZ64 entered", 0
msg_params: db "boot_params OK", 0
msg_done: db "BZ64 DONE", 0
msg_fail: db "BZ64 FAILED", 0
  times 4096-($-pm_start) db 0
