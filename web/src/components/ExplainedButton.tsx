import { Button, Tooltip, VisuallyHidden, type ButtonProps } from "@mantine/core";
import { useId, type MouseEvent } from "react";

interface Props extends ButtonProps {
  /** Why the action is not offered; null when it is. */
  whyNot: string | null;
  onClick: () => void;
}

/** A button that, when its action is not allowed, stays visible but disabled and says why:
 * on hover (tooltip) and to screen readers (its description). Not `disabled`, which would
 * swallow the hover that shows the reason. */
export function ExplainedButton({ whyNot, onClick, children, ...props }: Props) {
  const id = useId();
  if (whyNot === null) {
    return (
      <Button {...props} onClick={onClick}>
        {children}
      </Button>
    );
  }
  return (
    <>
      <Tooltip label={whyNot} multiline w={280}>
        <Button
          {...props}
          data-disabled
          aria-disabled="true"
          aria-describedby={id}
          onClick={(event: MouseEvent) => event.preventDefault()}
        >
          {children}
        </Button>
      </Tooltip>
      <VisuallyHidden id={id}>{whyNot}</VisuallyHidden>
    </>
  );
}
