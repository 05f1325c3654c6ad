


rootfw