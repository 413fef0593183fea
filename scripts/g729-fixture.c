/* This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
 * If a copy of the MPL was not distributed with this file, You can obtain one at
 * https://mozilla.org/MPL/2.0/.
 *
 * Writes G.729A frames made by libbcg729 from a synthetic signal, for the tests.
 * Output framing, per 10 ms input frame: one length byte (10 = speech, 2 = Annex B SID,
 * 0 = not transmitted) followed by that many bytes.
 * Usage: g729-fixture OUTPUT VAD(0|1)
 * Signal: 2 s of a 440 Hz sine, 1 s of near-silence (faint noise), 1 s of sine. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <bcg729/encoder.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUTPUT VAD\n", argv[0]);
        return 2;
    }
    FILE *out = fopen(argv[1], "wb");
    if (!out) { perror(argv[1]); return 1; }
    bcg729EncoderChannelContextStruct *enc = initBcg729EncoderChannel(atoi(argv[2]) != 0);
    uint32_t noise = 12345;
    long n = 0;
    for (int frame = 0; frame < 400; frame++) {
        int16_t pcm[80];
        for (int i = 0; i < 80; i++, n++) {
            double t = (double)n / 8000.0;
            if (frame >= 200 && frame < 300) {
                noise = noise * 1103515245u + 12345u;
                pcm[i] = (int16_t)((int)((noise >> 16) & 0x7) - 4);
            } else {
                pcm[i] = (int16_t)(8000.0 * sin(2.0 * M_PI * 440.0 * t));
            }
        }
        uint8_t bits[10];
        uint8_t len = 0;
        bcg729Encoder(enc, pcm, bits, &len);
        fputc(len, out);
        fwrite(bits, 1, len, out);
    }
    closeBcg729EncoderChannel(enc);
    return fclose(out) == 0 ? 0 : 1;
}
