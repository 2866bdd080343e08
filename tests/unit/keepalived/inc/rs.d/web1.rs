real_server 198.51.100.101 80 {
    weight 50
    FILE_CHECK {
        track_file t_a
    }
}
