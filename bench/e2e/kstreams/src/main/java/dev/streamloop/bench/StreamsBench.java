package dev.streamloop.bench;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The Kafka Streams peer of `npm run bench:e2e`: one exactly_once_v2 application on the bench's broker, driven and
 * measured by the Node bench (which feeds the input topic and reads the output topic with its own read_committed
 * consumer).
 *
 * Input records: key = card id, value = "eventId,amount" (UTF-8). Topologies:
 *   window       per card, a 1 h tumbling window (by record timestamp) of count, sum and mean of amount;
 *                each update is written out as key = card id, value = "eventId,count,sum,mean,windowStartMs",
 *                where eventId is the input record that caused the update (so the bench can match output to input)
 *   passthrough  every input record copied to the output unchanged
 *
 * Record caches are off (statestore.cache.max.bytes=0), so every input record gives exactly one output record at the
 * next commit, as our stages do; everything else is Kafka Streams' default apart from commit.interval.ms.
 *
 * Arguments: --bootstrap HOST:PORT --application-id ID --topology window|passthrough --input TOPIC --output TOPIC
 *            --commit-interval-ms N --state-dir DIR
 * Prints "STATE <state>" on every state change (the bench waits for "STATE RUNNING"); exits when its standard input
 * closes (so it never outlives the bench) or on SIGTERM, closing the application cleanly.
 */
public final class StreamsBench {
  private StreamsBench() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parseArgs(argv);
    String topology = required(args, "topology");
    String input = required(args, "input");
    String output = required(args, "output");

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, required(args, "application-id"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, required(args, "bootstrap"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, required(args, "commit-interval-ms"));
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.STATE_DIR_CONFIG, required(args, "state-dir"));
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    StreamsBuilder builder = new StreamsBuilder();
    switch (topology) {
      case "window" -> buildWindow(builder, input, output);
      case "passthrough" -> builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
          .to(output, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
      default -> throw new IllegalArgumentException("--topology: expected window or passthrough, got " + topology);
    }

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      System.out.println("STATE " + now);
      System.out.flush();
      if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) stopped.countDown();
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(20));
      stopped.countDown();
    }, "close-streams"));
    // The bench holds our stdin open; EOF means it has finished (or died): stop.
    Thread stdinWatch = new Thread(() -> {
      try {
        InputStream in = System.in;
        while (in.read() != -1) { /* nothing is sent; wait for EOF */ }
      } catch (IOException ignored) {
        // treated as EOF
      }
      System.exit(0);
    }, "stdin-watch");
    stdinWatch.setDaemon(true);
    stdinWatch.start();

    streams.start();
    stopped.await();
    System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
  }

  /** Per card, 1 h tumbling windows of count and sum of amount; the aggregate also remembers the last event id. */
  private static void buildWindow(StreamsBuilder builder, String input, String output) {
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofHours(1)))
        .aggregate(
            () -> "0,0,",
            (card, value, aggregate) -> {
              int comma = value.indexOf(',');
              String eventId = value.substring(0, comma);
              double amount = Double.parseDouble(value.substring(comma + 1));
              String[] parts = aggregate.split(",", 3);
              long count = Long.parseLong(parts[0]) + 1;
              double sum = Double.parseDouble(parts[1]) + amount;
              return count + "," + sum + "," + eventId;
            },
            Materialized.<String, String, WindowStore<Bytes, byte[]>>as("card-amount-1h").withValueSerde(Serdes.String()))
        .toStream()
        .map((window, aggregate) -> {
          String[] parts = aggregate.split(",", 3);
          long count = Long.parseLong(parts[0]);
          double sum = Double.parseDouble(parts[1]);
          String value = parts[2] + "," + count + "," + sum + "," + (sum / count) + "," + window.window().start();
          return KeyValue.pair(window.key(), value);
        })
        .to(output, Produced.with(Serdes.String(), Serdes.String()));
  }

  private static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
      out.put(argv[i].substring(2), argv[++i]);
    }
    return out;
  }

  private static String required(Map<String, String> args, String name) {
    String v = args.get(name);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }
}
