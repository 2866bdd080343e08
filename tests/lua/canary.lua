-- SPDX-License-Identifier: MIT
-- Loads a module that leaks 4242 bytes: LeakSanitizer must say so at exit.
require "leak_canary"
