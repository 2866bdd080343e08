// SPDX-License-Identifier: MIT
/* Placeholder until the LVS driver lands. */
