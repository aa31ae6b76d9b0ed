// SSE/AVX registers held across the moves (the body is blocked in a raw
// read(2) with ymm0-ymm15 loaded), and the x87 and SSE control words.
// mig-route: bounce
#include "mig.h"
#include <fenv.h>
#include <sys/syscall.h>
int main(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx")) { printf("PASS (no AVX: SSE only checked by others)\n"); mig_ready(); mig_wait_go(); mig_pass(); }
  static double in[16][4] __attribute__((aligned(32)));
  static double out[16][4] __attribute__((aligned(32)));
  for (int r = 0; r < 16; ++r) for (int l = 0; l < 4; ++l) in[r][l] = r * 10.25 + l * 0.5 + 1;
  fesetround(FE_UPWARD);
  unsigned int mxcsr_before;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr_before));
  mig_ready();
  char buf[8];
  long ret;
  __asm__ volatile(
      "vmovupd 0(%[i]), %%ymm0\n vmovupd 32(%[i]), %%ymm1\n vmovupd 64(%[i]), %%ymm2\n vmovupd 96(%[i]), %%ymm3\n"
      "vmovupd 128(%[i]), %%ymm4\n vmovupd 160(%[i]), %%ymm5\n vmovupd 192(%[i]), %%ymm6\n vmovupd 224(%[i]), %%ymm7\n"
      "vmovupd 256(%[i]), %%ymm8\n vmovupd 288(%[i]), %%ymm9\n vmovupd 320(%[i]), %%ymm10\n vmovupd 352(%[i]), %%ymm11\n"
      "vmovupd 384(%[i]), %%ymm12\n vmovupd 416(%[i]), %%ymm13\n vmovupd 448(%[i]), %%ymm14\n vmovupd 480(%[i]), %%ymm15\n"
      "1: mov $0, %%eax\n mov $0, %%edi\n mov %[b], %%rsi\n mov $3, %%edx\n syscall\n cmp $-4, %%rax\n je 1b\n"
      "vmovupd %%ymm0, 0(%[o])\n vmovupd %%ymm1, 32(%[o])\n vmovupd %%ymm2, 64(%[o])\n vmovupd %%ymm3, 96(%[o])\n"
      "vmovupd %%ymm4, 128(%[o])\n vmovupd %%ymm5, 160(%[o])\n vmovupd %%ymm6, 192(%[o])\n vmovupd %%ymm7, 224(%[o])\n"
      "vmovupd %%ymm8, 256(%[o])\n vmovupd %%ymm9, 288(%[o])\n vmovupd %%ymm10, 320(%[o])\n vmovupd %%ymm11, 352(%[o])\n"
      "vmovupd %%ymm12, 384(%[o])\n vmovupd %%ymm13, 416(%[o])\n vmovupd %%ymm14, 448(%[o])\n vmovupd %%ymm15, 480(%[o])\n"
      "mov %%rax, %[r]\n"
      : [r] "=m"(ret)
      : [i] "r"(in), [o] "r"(out), [b] "r"(buf)
      : "rax", "rdi", "rsi", "rdx", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
        "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  if (ret < 2 || memcmp(buf, "go", 2) != 0) mig_fail("read returned %ld", ret);
  if (memcmp(in, out, sizeof in) != 0) mig_fail("ymm registers changed");
  unsigned int mxcsr_after;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr_after));
  if (mxcsr_after != mxcsr_before) mig_fail("mxcsr %x -> %x", mxcsr_before, mxcsr_after);
  if (fegetround() != FE_UPWARD) mig_fail("rounding mode lost");
  volatile double third = 1.0 / 3.0;
  if (third * 3.0 < 1.0) mig_fail("rounding not upward");
  mig_pass();
}
