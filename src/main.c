/* placeholder main; replaced as the server lands */
#include <stdio.h>
int main(void) { puts("devmail"); return 0; }
